/**
 * Text from registry metadata, attestation documents or certificates, made
 * safe to print: control characters (an escape sequence could rewrite the
 * screen, a newline forge a log line such as a CI workflow command) and
 * bidirectional overrides are shown as `\u{...}`.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNPRINTABLE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const shown = (char: string) => `\\u{${char.codePointAt(0)!.toString(16)}}`;

/** One value, on one line. */
export function printable(value: string): string {
  return value.replace(UNPRINTABLE, shown);
}

/** A whole message of ours: its own line breaks kept, everything else unprintable shown escaped. */
export function printableMessage(message: string): string {
  return message.replace(UNPRINTABLE_BUT_NEWLINE, shown);
}
