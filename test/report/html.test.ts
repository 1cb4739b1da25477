/**
 * `yarn sigstore verify --html`'s page (src/report/html.ts): one document
 * with no script and no external resource, the signed share, failures,
 * exceptions due and every signer with its packages; every string from a
 * package, a certificate or the policy is escaped, so a hostile name or
 * identity is shown as text and never becomes markup.
 */
import { describe, expect, it } from 'vitest';
import { reportRows, type PolicyException } from '../../src/report/model';
import { escapeHtml, reportHtml } from '../../src/report/html';
import { EVENTS, signed } from '../../testkit/report-events';

const EXCEPTIONS: PolicyException[] = [
  { rule: 'rules[2] (gone-lib)', packages: ['gone-lib'], reason: 'removed last month', expires: '2026-12-06', state: 'expired', daysLeft: -1 },
  { rule: 'rules[1] (old-lib)', packages: ['old-lib'], reason: 'waiting for a signed release', expires: '2026-12-20', state: 'expiring', daysLeft: 13 },
  { rule: 'rules[0] (later-lib)', packages: ['later-lib'], reason: 'upstream signs from 2027', expires: '2027-03-01', state: 'active', daysLeft: 84 },
];

const summary = EVENTS.find((event) => event.type === 'sigstore-summary');
const page = (events = EVENTS, exceptions = EXCEPTIONS) => reportHtml({ rows: reportRows(events), exceptions, summary, generatedAt: new Date('2026-12-07T12:00:00Z'), toolVersion: '0.1.0', project: 'app' });

const ALLOWED_TAGS = new Set(['html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'h3', 'p', 'strong', 'table', 'tr', 'th', 'td', 'code', 'span', 'div']);
const ALLOWED_ATTRIBUTES = new Set(['lang', 'charset', 'http-equiv', 'content', 'name', 'class', 'style', 'title']);

/** Every tag of the document, with its attribute names (a tag or attribute a name or identity smuggled in would show here). */
function tags(html: string): { name: string; attributes: string[] }[] {
  return [...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>/g)].map((match) => {
    // Only name="value" pairs: anything else (an unquoted or stray attribute) is reported as one named by itself.
    const rest = match[2].replace(/\s+[a-zA-Z-]+="[^"]*"/g, '').trim();
    return {
      name: match[1].toLowerCase(),
      attributes: [...[...match[2].matchAll(/\s([a-zA-Z-]+)="[^"]*"/g)].map((attribute) => attribute[1].toLowerCase()), ...(rest ? [rest] : [])],
    };
  });
}

/** The text of an element found by the regular expression's first group, tags removed and entities decoded. */
const textOf = (html: string) => html.replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

describe('reportHtml', () => {
  it('is one document with inline CSS only: no script, no link, no external resource, a policy forbidding both', () => {
    const html = page();
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
    for (const tag of tags(html)) {
      expect(ALLOWED_TAGS.has(tag.name), tag.name).toBe(true);
      for (const attribute of tag.attributes) expect(ALLOWED_ATTRIBUTES.has(attribute), `${tag.name} ${attribute}`).toBe(true);
    }
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
    expect(style).not.toMatch(/url\(|@import/);
  });

  it('shows the signed share, the outcome and the failures', () => {
    const html = page();
    expect(textOf(html)).toContain('3 of 6 registry packages (50%) carry verified provenance; 1 a publish attestation only; 2 no verified signature.');
    expect(html).toContain('<span class="provenance" style="width:50%"></span><span class="publish" style="width:16.7%"></span><span class="unsigned" style="width:33.3%"></span>');
    expect(html).toContain('Outcome: <strong class="outcome-failed">failed</strong> · 10 packages');
    const failures = /<h2>Failures and warnings \(1\)<\/h2>\n(<table>.*?<\/table>)/.exec(html)![1];
    expect(textOf(failures)).toContain('left-pad@npm:1.3.0failedPOLICY_DENIEDleft-pad@1.3.0: denied by default rule');
  });

  it('lists the exceptions expired or expiring within 30 days, not the later ones', () => {
    const html = page();
    const section = /<h2>Policy exceptions expired or expiring within 30 days \(2\)<\/h2>\n(<table>.*?<\/table>)(.*)/.exec(html)!;
    expect(textOf(section[1])).toContain('rules[2] (gone-lib)gone-libremoved last month2026-12-06expired');
    expect(textOf(section[1])).toContain('rules[1] (old-lib)old-libwaiting for a signed release2026-12-2013 days left');
    expect(section[1]).not.toContain('later-lib');
    expect(section[2]).toContain('1 more expire later than 30 days from now.');
    expect(page(EVENTS, [])).toContain('<p>None expired or expiring within 30 days.</p>');
  });

  it('shows each signer with its packages, workflow, ref, log index and deciding rule', () => {
    const html = page();
    const zeta = /<h3>Signer <code>https:\/\/github.com\/acme\/zeta<\/code> \(2\)<\/h3>\n(<table>.*?<\/table>)/.exec(html)![1];
    expect(textOf(zeta)).toContain('alpha@npm:1.0.0verified.github/workflows/release.ymlrefs/tags/v1.0.0100rules[0] (alpha)');
    expect(textOf(zeta)).toContain('zeta@npm:1.0.0verified');
    expect(textOf(html)).toContain('old-lib@npm:0.1.0allowed-unsignedrules[2] (old-lib), until 2026-12-20');
    expect(html.indexOf('Signer <code>https://github.com/acme/widget')).toBeLessThan(html.indexOf('Signer <code>https://github.com/acme/zeta'));
  });

  it('escapes a hostile package name, identity and policy reason: they stay text', () => {
    const NAME = '<script>alert(1)</script>';
    const REPOSITORY = 'acme/x"><img src=x onerror=alert(2)>';
    const hostile = { ...signed(NAME, '1.0.0', REPOSITORY, '7'), locator: `${NAME}@npm:1.0.0" onmouseover="alert(3)`, status: 'failed', error: { code: '<b>CODE</b>', message: "it's </td></tr></table><iframe src=//evil>" } };
    const exception: PolicyException = { rule: 'rules[0] (<svg onload=alert(4)>)', packages: ['<svg/onload=alert(5)>'], reason: '"><script src=//evil.example/x.js></script>', expires: '2026-12-20', state: 'expiring', daysLeft: 13 };
    const html = page([hostile], [exception]);
    for (const tag of tags(html)) expect(ALLOWED_TAGS.has(tag.name), tag.name).toBe(true);
    for (const tag of tags(html)) for (const attribute of tag.attributes) expect(ALLOWED_ATTRIBUTES.has(attribute), attribute).toBe(true);
    expect(html).not.toMatch(/<script|<img|<iframe|<svg|<b>/i);
    expect(html).toContain('https://github.com/acme/x&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('<code>&lt;script&gt;alert(1)&lt;/script&gt;@npm:1.0.0&quot; onmouseover=&quot;alert(3)</code>');
    expect(html).toContain('it&#39;s &lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;iframe src=//evil&gt;');
    expect(html).toContain('&quot;&gt;&lt;script src=//evil.example/x.js&gt;&lt;/script&gt;');
    // The text a reader sees is the hostile string itself.
    expect(textOf(html)).toContain(`${NAME}@npm:1.0.0" onmouseover="alert(3)`);
    expect(textOf(html)).toContain("<b>CODE</b>it's </td></tr></table><iframe src=//evil>");
    expect(textOf(html)).toContain('https://github.com/acme/x"><img src=x onerror=alert(2)>');
  });

  it('escapes the five characters that could end a text or an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
    expect(escapeHtml(undefined)).toBe('');
  });
});
