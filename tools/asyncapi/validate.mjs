// Validate an AsyncAPI document with the official parser; print its diagnostics as JSON.
// Usage: node validate.mjs <document.json>. Exit status 1 when the parser reports an error.

import { Parser, fromFile } from '@asyncapi/parser';

const path = process.argv[2];
if (!path) {
  console.error('usage: node validate.mjs <asyncapi.json>');
  process.exit(2);
}
const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, path).parse();
const severities = ['error', 'warning', 'information', 'hint'];
const report = {
  parsed: document !== undefined,
  diagnostics: diagnostics.map((d) => ({
    severity: severities[d.severity] ?? String(d.severity),
    code: d.code,
    message: d.message,
    path: d.path.join('/'),
  })),
  messages: document ? document.components().messages().all().map((m) => m.id()) : [],
  channels: document ? document.channels().all().map((c) => c.address()) : [],
};
console.log(JSON.stringify(report));
process.exit(report.parsed && !report.diagnostics.some((d) => d.severity === 'error') ? 0 : 1);
