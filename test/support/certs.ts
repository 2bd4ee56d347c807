// Certificates made by openssl inside a test: a CA, server and client certificates signed by it
// (with chosen names and validity dates), keys, and the odd garbage file. EC P-256 keys: as good
// as RSA for these tests, and made in milliseconds. Signing goes through
// `openssl ca` because OpenSSL 3.0's `x509 -req` cannot set a start or end date in the past.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pair {
  cert: string;
  key: string;
}

export interface CertOptions {
  cn: string;
  /** subjectAltName, e.g. "IP:127.0.0.1,DNS:localhost". */
  san?: string;
  /** openssl ca dates, YYYYMMDDHHMMSSZ; default now → +1 day. */
  startdate?: string;
  enddate?: string;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** YYYYMMDDHHMMSSZ for `openssl ca -startdate/-enddate`, `offsetMs` from now. */
export function opensslDate(offsetMs: number): string {
  return `${new Date(Date.now() + offsetMs).toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}

export class TestCa {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;

  constructor(name = "posbridge test CA") {
    this.dir = mkdtempSync(join(tmpdir(), "pb-ca-"));
    // A test broker started as root reads its files as the "mosquitto" user.
    chmodSync(this.dir, 0o755);
    this.cert = join(this.dir, "ca.crt");
    this.key = join(this.dir, "ca.key");
    openssl(this.dir, [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      this.key,
      "-out",
      this.cert,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    writeFileSync(join(this.dir, "index.txt"), "");
    writeFileSync(join(this.dir, "serial"), "1000\n");
    writeFileSync(
      join(this.dir, "ca.cnf"),
      `[ca]
default_ca = ca_default
[ca_default]
database = ${join(this.dir, "index.txt")}
new_certs_dir = ${this.dir}
serial = ${join(this.dir, "serial")}
default_md = sha256
policy = policy_any
copy_extensions = copy
unique_subject = no
default_days = 1
[policy_any]
commonName = supplied
`,
    );
  }

  /** A key pair and a certificate for it signed by this CA. */
  issue(name: string, o: CertOptions): Pair {
    const key = join(this.dir, `${name}.key`);
    const csr = join(this.dir, `${name}.csr`);
    const cert = join(this.dir, `${name}.crt`);
    openssl(this.dir, [
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      csr,
      "-subj",
      `/CN=${o.cn.replace(/\//g, "\\/")}`,
      ...(o.san ? ["-addext", `subjectAltName=${o.san}`] : []),
    ]);
    openssl(this.dir, [
      "ca",
      "-batch",
      "-notext",
      "-config",
      join(this.dir, "ca.cnf"),
      "-cert",
      this.cert,
      "-keyfile",
      this.key,
      "-in",
      csr,
      "-out",
      cert,
      "-startdate",
      o.startdate ?? opensslDate(-60_000),
      "-enddate",
      o.enddate ?? opensslDate(86_400_000),
    ]);
    chmodSync(key, 0o644);
    return { cert, key };
  }
}

/** A private key that belongs to no certificate here. */
export function strayKey(dir: string): string {
  const key = join(dir, `stray-${Math.random().toString(36).slice(2)}.key`);
  openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", key]);
  return key;
}

export function garbageFile(dir: string, name = "garbage.pem"): string {
  const path = join(dir, name);
  writeFileSync(path, "this is not a PEM file\n");
  return path;
}
