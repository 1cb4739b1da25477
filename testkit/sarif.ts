/** SARIF 2.1.0 schema validation (the OASIS schema, fixtures/sarif/sarif-schema-2.1.0.json, a JSON Schema draft 4). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@cfworker/json-schema';
import { FIXTURES_DIR } from './fixtures';

const validator = new Validator(JSON.parse(readFileSync(join(FIXTURES_DIR, 'sarif/sarif-schema-2.1.0.json'), 'utf8')), '4', false);

/** Every way `log` breaks the schema, `<where>: <why>`; empty when it is a valid SARIF 2.1.0 log. */
export function sarifProblems(log: unknown): string[] {
  return validator.validate(log).errors.map((error) => `${error.instanceLocation}: ${error.error}`);
}
