/**
 * A line diff for policy edits: what `--dry-run` prints, and how an edit
 * keeps every line it did not touch byte for byte.
 */

export type DiffLine = { kind: 'same' | 'add' | 'remove'; text: string };

/**
 * Longest-common-subsequence diff of two texts by line. The common head and
 * tail are cut first: an edit touches a few lines of a policy, so the table
 * stays small whatever the file's length.
 */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const width = midB.length + 1;
  // lengths[i * width + j]: LCS length of midA[i..] and midB[j..].
  const lengths = new Uint32Array((midA.length + 1) * width);
  for (let i = midA.length - 1; i >= 0; i--) {
    for (let j = midB.length - 1; j >= 0; j--) {
      lengths[i * width + j] = midA[i] === midB[j] ? lengths[(i + 1) * width + j + 1] + 1 : Math.max(lengths[(i + 1) * width + j], lengths[i * width + j + 1]);
    }
  }
  const middle: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < midA.length || j < midB.length) {
    if (i < midA.length && j < midB.length && midA[i] === midB[j]) {
      middle.push({ kind: 'same', text: midA[i++] });
      j++;
    } else if (i < midA.length && (j === midB.length || lengths[(i + 1) * width + j] >= lengths[i * width + j + 1])) {
      middle.push({ kind: 'remove', text: midA[i++] });
    } else {
      middle.push({ kind: 'add', text: midB[j++] });
    }
  }
  const same = (text: string): DiffLine => ({ kind: 'same', text });
  return [...a.slice(0, head).map(same), ...middle, ...a.slice(a.length - tail).map(same)];
}

/** The changed lines with `context` lines around them, `-`/`+` prefixed, hunks separated by `@@ line N`. */
export function formatDiff(diff: DiffLine[], context = 2): string[] {
  const changed = diff.map((line) => line.kind !== 'same');
  const shown = diff.map((_, index) => changed.slice(Math.max(0, index - context), index + context + 1).some(Boolean));
  const lines: string[] = [];
  let afterLine = 0;
  diff.forEach((line, index) => {
    if (line.kind !== 'remove') afterLine++;
    if (!shown[index]) return;
    if (index === 0 || !shown[index - 1]) lines.push(`@@ line ${Math.max(afterLine, 1)}`);
    lines.push(`${line.kind === 'add' ? '+' : line.kind === 'remove' ? '-' : ' '} ${line.text}`);
  });
  return lines;
}

/**
 * `edited` is `reformatted` with some lines changed; `reformatted` is
 * `original` as the YAML library prints it (comment alignment, flow spacing
 * and blank lines may differ). Returns `edited` where each line it shares with
 * `reformatted` is the user's original line: the lines an edit did not touch
 * keep their exact bytes, and the diff shows only the edit.
 */
export function keepUntouchedLines(original: string, reformatted: string, edited: string): string {
  const originalOf = originalLinesOf(original, reformatted);
  const out: string[] = [];
  let index = 0;
  for (const line of diffLines(reformatted, edited)) {
    if (line.kind === 'add') out.push(line.text);
    else if (line.kind === 'same') out.push(originalOf[index++]);
    else index++;
  }
  return out.join('\n');
}

/** For each line of `reformatted`, the line of `original` it prints (paired within a changed run of equal length), else itself. */
function originalLinesOf(original: string, reformatted: string): string[] {
  const mapped: string[] = [];
  let removed: string[] = [];
  let added: string[] = [];
  const flush = () => {
    mapped.push(...added.map((text, i) => (removed.length === added.length ? removed[i] : text)));
    removed = [];
    added = [];
  };
  for (const line of diffLines(original, reformatted)) {
    if (line.kind === 'remove') removed.push(line.text);
    else if (line.kind === 'add') added.push(line.text);
    else {
      flush();
      mapped.push(line.text);
    }
  }
  flush();
  return mapped;
}
