#!/usr/bin/env node
/**
 * The GitHub Action's report (action.yml), from the SARIF log that
 * `yarn sigstore verify --format sarif` wrote: one workflow annotation per
 * result, on its yarn.lock line; a Markdown summary appended to the job
 * summary; exit 0 only when the log says the run completed with no error.
 * No dependencies: it runs with the runner's Node, outside any project.
 *
 *   node report.cjs <sarif file> [<working directory, relative to the repository>]
 */
'use strict';
const { appendFileSync, readFileSync } = require('node:fs');
const { posix } = require('node:path');

// Workflow commands: data escapes %, CR and LF; properties also : and ,.
const escapeData = (text) => String(text).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (text) => escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function annotation(result, workdir) {
  const level = result.level === 'error' ? 'error' : result.level === 'warning' ? 'warning' : 'notice';
  const physical = result.locations && result.locations[0] && result.locations[0].physicalLocation;
  const properties = [];
  if (physical) properties.push(`file=${escapeProperty(posix.join(workdir, physical.artifactLocation.uri))}`);
  if (physical && physical.region) properties.push(`line=${physical.region.startLine}`);
  properties.push(`title=${escapeProperty(`sigstore ${result.ruleId}`)}`);
  return `::${level} ${properties.join(',')}::${escapeData(result.message.text)}`;
}

function markdown(passed, summary, results) {
  const lines = [`## Sigstore provenance: ${passed ? 'verified' : 'FAILED'}`, ''];
  if (summary) {
    const columns = [
      ['verified', summary.verified],
      ['allowed unsigned', summary.allowedUnsigned],
      ['warnings', summary.warnings],
      ['failures', summary.failures],
      ['skipped (other platforms)', summary.skipped],
      ['non-registry allowed', summary.otherSources],
      ['non-registry denied', summary.otherFailures],
      ['trust warnings', summary.trustWarnings],
    ];
    lines.push(`| ${columns.map(([name]) => name).join(' | ')} |`, `|${columns.map(() => ' ---: |').join('')}`, `| ${columns.map(([, value]) => value).join(' | ')} |`, '');
    if (summary.zeroConfig) lines.push('No trust policy: unsigned packages were allowed. Run `yarn sigstore policy init` to write one.', '');
  } else {
    lines.push('The run stopped before it could summarize (see the errors below).', '');
  }
  if (results.length > 0) {
    lines.push('| | package | code | why |', '| --- | --- | --- | --- |');
    for (const result of results) {
      const where = (result.properties && result.properties.locator) || '';
      lines.push(`| ${result.level === 'error' ? 'error' : 'warning'} | ${where ? `\`${cell(where)}\`` : ''} | \`${cell(result.ruleId)}\` | ${cell(result.message.text)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

function main(argv) {
  const [sarifPath, workdir = '.'] = argv;
  let log;
  try {
    log = JSON.parse(readFileSync(sarifPath, 'utf8'));
  } catch (error) {
    process.stdout.write(`::error title=sigstore::no SARIF log from yarn sigstore verify (${escapeData(error.message)})\n`);
    return 1;
  }
  const run = log && log.version === '2.1.0' && Array.isArray(log.runs) ? log.runs[0] : undefined;
  if (!run || !run.tool || !run.tool.driver || run.tool.driver.name !== 'yarn-plugin-sigstore') {
    process.stdout.write('::error title=sigstore::the SARIF log is not from yarn-plugin-sigstore\n');
    return 1;
  }
  const results = Array.isArray(run.results) ? run.results : [];
  const summary = run.properties && run.properties.summary;
  const passed = Boolean(run.invocations && run.invocations[0] && run.invocations[0].executionSuccessful === true && summary && summary.outcome === 'completed' && !results.some((result) => result.level === 'error'));
  for (const result of results) process.stdout.write(`${annotation(result, workdir)}\n`);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, markdown(passed, summary, results));
  return passed ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
