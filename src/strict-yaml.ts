/**
 * YAML as the trust policy and sigstore.lock must be: what `yaml`'s parse()
 * reads, except that its warnings refuse the text instead of reaching stderr
 * as Node warnings. A tag or alias nobody meant to write changes what the
 * file says: `require: !provenance none` reads as `require: none`, and
 * `!require: provenance` drops the key and keeps its value.
 */
import { parseDocument, type DocumentOptions, type ParseOptions, type SchemaOptions, type ToJSOptions } from 'yaml';

export type StrictYamlOptions = ParseOptions & DocumentOptions & SchemaOptions & ToJSOptions;

/** The document's value; throws the first error or warning (a YAMLError: its message names the line and column). */
export function parseStrictYaml(text: string, options: StrictYamlOptions = {}): unknown {
  // 'error': nothing is printed; every warning is thrown below instead.
  const document = parseDocument(text, { ...options, logLevel: 'error' });
  const [problem] = [...document.errors, ...document.warnings];
  if (problem) throw problem;
  return document.toJS(options);
}
