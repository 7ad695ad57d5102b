// The configuration table of docs/operations.md, generated from the code: MQFT_VARIABLES (the
// catalogue in @mqft/config) plus what each service's own config schema reads (its
// MQFT_HTTP_ADDR default, and any variable a service defines for itself).
//
//   pnpm exec tsx deploy/tools/config-table.ts           prints the table
//   pnpm exec tsx deploy/tools/config-table.ts --write   rewrites it in docs/operations.md
//
// test/ops/docs.test.ts fails when docs/operations.md does not hold exactly this table.
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  httpAddrVariable,
  MQFT_VARIABLES,
  type Variable,
} from '../../packages/config/src/index.js';
import { assemblerConfigSchema } from '../../services/assembler/src/config.js';
import { controlConfigSchema } from '../../services/control/src/config.js';
import { ingestConfigSchema } from '../../services/ingest/src/config.js';

export const SERVICES = ['ingest', 'assembler', 'control'] as const;
export type ServiceName = (typeof SERVICES)[number];

type Schema = Record<string, Variable<unknown>>;

/** Each service's config schema: the variables it reads at start-up. */
export const SERVICE_SCHEMAS: Readonly<Record<ServiceName, Schema>> = {
  ingest: ingestConfigSchema,
  assembler: assemblerConfigSchema,
  control: controlConfigSchema,
};

/** The name of the per-service listen address of /metrics, /healthz, /readyz. */
export const HTTP_ADDR = httpAddrVariable('0.0.0.0:0').name;

/** The names in MQFT_VARIABLES, plus MQFT_HTTP_ADDR (one variable, a default per service). */
export function catalogueNames(): Set<string> {
  return new Set([...Object.values(MQFT_VARIABLES).map((v) => v.name), HTTP_ADDR]);
}

/** The variables a service reads, by name. */
export function variablesOf(service: ServiceName): Map<string, Variable<unknown>> {
  return new Map(Object.values(SERVICE_SCHEMAS[service]).map((v) => [v.name, v]));
}

export interface ConfigRow {
  name: string;
  /** Default as written in the code (machine-specific parts replaced by placeholders). */
  defaults: { text: string; services?: ServiceName[] }[];
  description: string;
  readBy: ServiceName[];
  /** Defined by a service for itself, not in MQFT_VARIABLES. */
  serviceLocal: boolean;
}

/** A default that embeds this machine's host name is shown with `<hostname>` instead. */
function portableDefault(text: string | undefined): string {
  if (text === undefined) return '';
  const host = hostname();
  return host === '' ? text : text.split(host).join('<hostname>');
}

/** Every variable once: MQFT_VARIABLES in their order, then those the services add. */
export function configRows(): ConfigRow[] {
  const rows = new Map<string, ConfigRow>();
  const readers = (name: string) => SERVICES.filter((s) => variablesOf(s).has(name));
  for (const variable of Object.values(MQFT_VARIABLES)) {
    rows.set(variable.name, {
      name: variable.name,
      defaults: [{ text: portableDefault(variable.defaultText) }],
      description: variable.description,
      readBy: readers(variable.name),
      serviceLocal: false,
    });
  }
  // MQFT_HTTP_ADDR first among the others: one variable, a default per service.
  const others = new Map<string, ConfigRow>();
  for (const service of SERVICES) {
    for (const [name, variable] of variablesOf(service)) {
      if (rows.has(name)) continue;
      const row = others.get(name) ?? {
        name,
        defaults: [],
        description: variable.description,
        readBy: readers(name),
        serviceLocal: name !== HTTP_ADDR,
      };
      const text = portableDefault(variable.defaultText);
      const same = row.defaults.find((d) => d.text === text);
      if (same) same.services?.push(service);
      else row.defaults.push({ text, services: [service] });
      others.set(name, row);
    }
  }
  const rest = [...others.values()].sort(
    (a, b) => Number(b.name === HTTP_ADDR) - Number(a.name === HTTP_ADDR),
  );
  for (const row of rest) {
    // One default for every reader: no need to say whose it is.
    if (row.defaults.length === 1) row.defaults = [{ text: row.defaults[0]?.text ?? '' }];
  }
  return [...rows.values(), ...rest];
}

function code(text: string): string {
  if (text === '') return '(empty)';
  // A backtick inside would end the code span; a pipe would end the table cell.
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${text.replace(/\|/g, '\\|')}${fence}`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** The Markdown table: variable, default, read by, meaning. */
export function configTable(): string {
  const lines = ['| variable | default | read by | meaning |', '|---|---|---|---|'];
  for (const row of configRows()) {
    const defaults = row.defaults
      .map((d) => (d.services ? `${code(d.text)} (${d.services.join(', ')})` : code(d.text)))
      .join('<br>');
    const readBy = row.readBy.length === 0 ? 'local stack only' : row.readBy.join(', ');
    const local = row.serviceLocal ? ' (defined by the service itself)' : '';
    lines.push(`| \`${row.name}\` | ${defaults} | ${readBy} | ${cell(row.description)}${local} |`);
  }
  return lines.join('\n') + '\n';
}

export const TABLE_BEGIN =
  '<!-- config-table:begin (generated by deploy/tools/config-table.ts) -->';
export const TABLE_END = '<!-- config-table:end -->';
export const OPERATIONS_MD = fileURLToPath(new URL('../../docs/operations.md', import.meta.url));

/** The text between the markers of a document (undefined when the markers are missing). */
export function tableInDoc(doc: string): string | undefined {
  const begin = doc.indexOf(TABLE_BEGIN);
  const end = doc.indexOf(TABLE_END);
  if (begin < 0 || end < begin) return undefined;
  return doc.slice(begin + TABLE_BEGIN.length, end).replace(/^\n/, '');
}

/** The document with its table replaced by the generated one. */
export function withTable(doc: string, table = configTable()): string {
  const begin = doc.indexOf(TABLE_BEGIN);
  const end = doc.indexOf(TABLE_END);
  if (begin < 0 || end < begin) throw new Error(`markers ${TABLE_BEGIN} … ${TABLE_END} not found`);
  return doc.slice(0, begin + TABLE_BEGIN.length) + '\n' + table + doc.slice(end);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--write')) {
    writeFileSync(OPERATIONS_MD, withTable(readFileSync(OPERATIONS_MD, 'utf8')));
    console.log(`updated ${OPERATIONS_MD}`);
  } else {
    process.stdout.write(configTable());
  }
}
