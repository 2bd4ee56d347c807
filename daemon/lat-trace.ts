// TEMPORARY latency trace (not to be committed).
import { writeSync, openSync } from "node:fs";
const dir = process.env.PB_LAT_TRACE;
let fd = -1;
if (dir) fd = openSync(`${dir}/lat-${process.pid}.txt`, "a");
export function lt(label: string): void {
  if (fd < 0) return;
  writeSync(fd, `${(performance.timeOrigin + performance.now()).toFixed(3)} ${label}\n`);
}
