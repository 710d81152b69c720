/**
 * The node options kiln's own worker threads start with. A thread that inherits `--import tsx` (or
 * the tsx CLI's `--require`/`--import` preloads) registers that loader again and sends every import
 * it makes (kiln's bundled engine, msgpackr, hyparquet-writer, piscina) through a loader thread: about
 * 0.15 CPU-s before it has done anything, and more for each module. kiln's thread entries are plain
 * JavaScript and load TypeScript themselves with tsx's `tsImport`, so they do not need it.
 *
 * A worker given an explicit `execArgv` refuses V8 and process-wide options (`--max-old-space-size`,
 * `--title`), which apply to every thread anyway, so only options that act per thread are passed on.
 * Without a tsx preload the threads inherit the process's options exactly as Node does by default.
 */

/** Options that take a separate value when written without `=`. */
const TAKES_VALUE = new Set([
  "-e", "--eval", "-p", "--print", "-r", "--require", "--import", "--loader", "--experimental-loader",
  "-C", "--conditions", "--input-type", "--disable-warning", "--unhandled-rejections",
  "--cpu-prof-dir", "--cpu-prof-name", "--cpu-prof-interval", "--heap-prof-dir", "--heap-prof-name", "--heap-prof-interval",
]);
const PRELOADS = new Set(["-r", "--require", "--import", "--loader", "--experimental-loader"]);
/** Per-thread options passed on (besides preloads that are not tsx's). */
const PER_THREAD = /^(-C|--conditions|--enable-source-maps|--no-warnings|--no-deprecation|--trace-warnings|--trace-deprecation|--throw-deprecation|--pending-deprecation|--disable-warning|--unhandled-rejections|--input-type|--trace-uncaught|--experimental-.*|--cpu-prof.*|--heap-prof.*|--inspect.*)$/;

const isTsxLoader = (value: string) => /(^|[\\/@])tsx([\\/]|$)/.test(value);

/** One option of an argv list: the flag, its value (if any) and the argv entries it spans. */
function* options(argv: readonly string[]): Generator<{ flag: string; value: string | undefined; args: string[] }> {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    if (eq !== -1) yield { flag: arg.slice(0, eq), value: arg.slice(eq + 1), args: [arg] };
    else if (TAKES_VALUE.has(arg) && i + 1 < argv.length) yield { flag: arg, value: argv[i + 1], args: [arg, argv[++i]] };
    else yield { flag: arg, value: undefined, args: [arg] };
  }
}

/**
 * `execArgv` for a kiln worker thread: `undefined` (inherit, Node's default) when the process has no
 * tsx preload, otherwise the per-thread options without it.
 */
export function threadExecArgv(execArgv: readonly string[] = process.execArgv): string[] | undefined {
  const all = [...options(execArgv)];
  const isTsx = (o: { flag: string; value: string | undefined }) => PRELOADS.has(o.flag) && o.value !== undefined && isTsxLoader(o.value);
  if (!all.some(isTsx)) return undefined;
  return all.filter((o) => !isTsx(o) && (PRELOADS.has(o.flag) || PER_THREAD.test(o.flag))).flatMap((o) => o.args);
}
