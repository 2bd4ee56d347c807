// "status": the whole bridge in one BridgeSnapshot (snapshot.ts). Read-only; remote.
import type { DiagMethod } from "../methods.js";

export const statusMethod: DiagMethod = {
  name: "status",
  remote: true,
  mutates: false,
  run: async (ctx) => ctx.snapshot(),
};
