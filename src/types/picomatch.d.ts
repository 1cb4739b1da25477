/** The part of picomatch 2 the plugin uses (the package ships no types). */
declare module 'picomatch' {
  /** Whether `input` matches one of `patterns` (an empty list matches nothing): micromatch.isMatch is this very function. */
  export function isMatch(input: string, patterns: string | readonly string[]): boolean;
}
