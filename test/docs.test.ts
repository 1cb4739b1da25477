/**
 * The README is a guide and docs/ the reference: the README stays short, its
 * first screen gives the two fresh-machine commands (the test one exactly as
 * `.ci/run` runs it), it links every docs/ page, and every relative link in
 * README.md, SECURITY.md and docs/ reaches an existing file and heading.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../testkit/fixtures';

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');
const DOCS = readdirSync(join(REPO_ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`);
const README = read('README.md');

/** GitHub's anchors for a Markdown file's headings (outside code blocks), duplicates numbered as GitHub does. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inCode = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inCode = !inCode;
    const heading = /^#{1,6} (.*)$/.exec(line);
    if (inCode || !heading) continue;
    const slug = heading[1].trim().toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, '').replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** `[text](target)` links outside code blocks that stay in this repository. */
function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]).filter((target) => !/^[a-z]+:/i.test(target));
}

describe('the README is a guide', () => {
  it('is under 400 lines', () => {
    expect(README.split('\n').length).toBeLessThan(400);
  });

  it('gives the two fresh-machine commands on its first screen, the test one as .ci/run runs it', () => {
    const firstScreen = README.split('\n').slice(0, 40).join('\n');
    expect(firstScreen).toContain('npm ci && npm run demo');
    expect(firstScreen).toContain('npm ci && npm test');
    const ciCommands = read('.ci/run')
      .split('\n')
      .filter((line) => line.startsWith('npm '));
    expect(ciCommands.join(' && ')).toBe('npm ci && npm test');
  });

  it('links every page of docs/', () => {
    const linked = new Set(relativeLinks(README).map((target) => target.split('#')[0]));
    expect(DOCS.filter((page) => !linked.has(page))).toEqual([]);
  });
});

describe('links between README.md, SECURITY.md and docs/', () => {
  it('reach an existing file and heading', () => {
    const broken: string[] = [];
    for (const file of ['README.md', 'SECURITY.md', ...DOCS]) {
      for (const target of relativeLinks(read(file))) {
        const [path, anchor] = target.split('#');
        const resolved = path === '' ? file : relative(REPO_ROOT, join(REPO_ROOT, dirname(file), path));
        if (!existsSync(join(REPO_ROOT, resolved))) broken.push(`${file}: ${target} (no such file)`);
        else if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(read(resolved)).has(anchor)) broken.push(`${file}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
