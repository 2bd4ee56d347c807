// One section of `npm run bench` after the micro figures (bench/run.ts lists them in order): it
// prints its own table and returns what goes into the one JSON line under its key.
export interface BenchOptions {
  /** `npm run bench -- --quick`: fewer samples and smaller journals, for development. */
  quick: boolean;
}

export interface BenchSection {
  /** Key of the section in the JSON line. */
  key: string;
  title: string;
  run(options: BenchOptions): Promise<{ lines: string[]; json: unknown }>;
}
