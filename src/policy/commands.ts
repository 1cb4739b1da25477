/** The policy commands messages name, in one small module: the summary (src/install/results.ts) names them without loading the policy's evaluation. */

/** The command that adds an exception for unsigned packages, one or several (its flags are part of the public interface). */
export function allowCommand(...names: string[]): string {
  return `yarn sigstore policy allow ${names.join(' ')} --reason "..."`;
}

/** The command that writes a rule from a package's verified identity. */
export function trustCommand(name: string): string {
  return `yarn sigstore policy trust ${name}`;
}
