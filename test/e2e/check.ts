// What every page check (backbone.ts, bench.ts, identify.ts, phone.ts, tune.ts) is given by the
// runner that counts its checks: run.e2e.ts for the whole suite, standalone.ts for one check.

export interface PageCheckOptions {
  /** The served page. */
  url: string;
  /** Screenshots and the files a check makes go here. */
  out: string;
  /** Record one named check and what was seen. */
  check(name: string, ok: boolean, detail: string): void;
  log(msg: string): void;
  /** Every URL the page requests (the suite checks that nothing outside the server is asked for). */
  onRequest?(url: string): void;
  /** Errors on the page's console and uncaught page errors (the suite fails on any). */
  onConsoleError?(text: string): void;
}
