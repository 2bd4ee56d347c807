// Whose access is judged and how: the service user with the unit's supplementary groups, and
// the kernel's owner → group → other rule on the node's mode.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  accessFor,
  describeOwnership,
  readAccounts,
  serviceUser,
} from "../../../daemon/diagnostics/accounts.js";
import { STORE_PC_ACCOUNTS } from "./fake-system.js";

function etc(passwd: string[], group: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "pb-etc-"));
  writeFileSync(join(dir, "passwd"), `${passwd.join("\n")}\n`);
  writeFileSync(join(dir, "group"), `${group.join("\n")}\n`);
  return dir;
}

describe("accounts", () => {
  const accounts = readAccounts(etc(STORE_PC_ACCOUNTS.passwd, STORE_PC_ACCOUNTS.group));

  it("the service user gets its primary group, its memberships and the unit's SupplementaryGroups=dialout", () => {
    expect(serviceUser(accounts, "posbridge")).toEqual({
      name: "posbridge",
      uid: 998,
      gid: 998,
      groups: [20, 998],
    });
    expect(serviceUser(accounts, "cashier")?.groups).toEqual([20, 46, 1000]);
    expect(serviceUser(accounts, "nobody-here")).toBeUndefined();
  });

  it("judges owner, then group, then other bits, as the kernel does; root opens anything", () => {
    const user = serviceUser(accounts, "posbridge") as NonNullable<ReturnType<typeof serviceUser>>;
    expect(accessFor(user, { mode: 0o20660, uid: 0, gid: 20 }, "rw")).toEqual({ ok: true, via: "group" });
    expect(accessFor(user, { mode: 0o20600, uid: 0, gid: 0 }, "rw")).toEqual({ ok: false, via: "other" });
    expect(accessFor(user, { mode: 0o20640, uid: 0, gid: 998 }, "rw")).toEqual({ ok: false, via: "group" });
    expect(accessFor(user, { mode: 0o20640, uid: 0, gid: 998 }, "r")).toEqual({ ok: true, via: "group" });
    // The owner's bits decide for the owner, even when the group's would allow more.
    expect(accessFor(user, { mode: 0o20060, uid: 998, gid: 998 }, "rw")).toEqual({ ok: false, via: "owner" });
    expect(accessFor(user, { mode: 0o40700, uid: 998, gid: 998 }, "rwx")).toEqual({ ok: true, via: "owner" });
    expect(accessFor(user, { mode: 0o40600, uid: 998, gid: 998 }, "rwx")).toEqual({
      ok: false,
      via: "owner",
    });
    expect(
      accessFor({ name: "root", uid: 0, gid: 0, groups: [0] }, { mode: 0o20000, uid: 5, gid: 5 }, "rw").ok,
    ).toBe(true);
  });

  it("names owner and group, or their numbers when /etc does not", () => {
    expect(describeOwnership(accounts, { mode: 0o20660, uid: 0, gid: 20 })).toBe(
      "owner root, group dialout, mode 0660",
    );
    expect(describeOwnership(accounts, { mode: 0o20600, uid: 4711, gid: 4712 })).toBe(
      "owner 4711, group 4712, mode 0600",
    );
  });
});
