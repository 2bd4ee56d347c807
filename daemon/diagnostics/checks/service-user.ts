// Whose access the device and stateDir checks judge: the user the unit runs as (User=posbridge,
// with SupplementaryGroups=dialout), not whoever runs the doctor (usually root, who can open
// anything). Without that user on this PC they judge the doctor's own user, and say so.
import { type Check, finding } from "./check.js";

export const serviceUserCheck: Check = {
  id: "service-user",
  title: "the service user exists",
  run(ctx) {
    const { user, found, wanted } = ctx.user;
    const groups = user.groups.map((g) => ctx.accounts.groupName(g)).join(", ");
    if (found)
      return [
        finding(this.id, "ok", "service user", `access is judged for user ${user.name} (groups ${groups})`),
      ];
    return [
      finding(
        this.id,
        "warn",
        "service user",
        `there is no user ${wanted}: access is judged for ${user.name} instead`,
        {
          detail: `the unit runs as User=${wanted}`,
          fix: "posbridge install creates it (docs/deployment.md); --user NAME names another service user",
        },
      ),
    ];
  },
};
