// Types of bin/code-cache.js, for the tests that use it (test/integration/code-cache.test.ts).
import type { Script } from "node:vm";

export const RUN_BUNDLE: string;
export function cacheFile(v8?: string): string;
export function nodeFlags(): string[];
export function cacheFileBytes(source: Buffer, data: Buffer, flags: readonly string[]): Buffer;
export function cacheFlags(bytes: Buffer): string[] | undefined;
export function cacheData(source: Buffer, bytes: Buffer): { data: Buffer; flags: string[] } | undefined;
export function readRunBundle(): Buffer;
export function compileRunBundle(source: Buffer, cachedData?: Buffer): Script;
export function runRunBundle(script: Script): {
  main(argv: string[]): Promise<number>;
  loadCommand(name: string): Promise<unknown>;
};
export function loadCachedDaemon():
  | { daemon: { main(argv: string[]): Promise<number> }; why?: undefined }
  | { daemon?: undefined; why: string };
