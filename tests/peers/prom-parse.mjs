// An independent parser of the Prometheus text exposition format (parse-prometheus-text-format 1.1.1): reads the
// text from a file and prints the metric families it found as JSON. A malformed exposition makes it throw.
// Usage: node prom-parse.mjs <file>
import { readFileSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

process.stdout.write(JSON.stringify(parsePrometheusTextFormat(readFileSync(process.argv[2], 'utf8'))));
