/**
 * Checks an HTTP response against an OpenAPI 3.1 document: the route, method and status must
 * be described, and a JSON body must match the described schema. The JSON Schema subset the
 * mqft document uses: $ref (to #/components/schemas), type, properties, required,
 * additionalProperties: false, items, enum, minimum, maximum, minItems, maxItems, minLength,
 * format: date-time.
 */
export interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, OpenApiResponse> }>>;
  components?: { schemas?: Record<string, Schema> };
}

interface OpenApiResponse {
  content?: Record<string, { schema?: Schema }>;
}

type Schema = Record<string, unknown>;

/** What is wrong with the response (empty when it matches the document). */
export function openApiProblems(
  doc: OpenApiDocument,
  response: {
    route: string;
    method: string;
    status: number;
    contentType?: string | null;
    body?: unknown;
  },
): string[] {
  const operation = doc.paths[response.route]?.[response.method.toLowerCase()];
  if (!operation) return [`${response.method} ${response.route} is not in the document`];
  const described = operation.responses[String(response.status)];
  if (!described)
    return [`${response.method} ${response.route}: status ${response.status} is not described`];
  const type = (response.contentType ?? '').split(';')[0]?.trim() ?? '';
  if (!described.content) return [];
  const media = described.content[type];
  if (!media)
    return [
      `${response.method} ${response.route} ${response.status}: content type ${type} is not described`,
    ];
  if (type !== 'application/json' || !media.schema) return [];
  const problems: string[] = [];
  check(doc, media.schema, response.body, '$', problems);
  return problems;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function check(
  doc: OpenApiDocument,
  schema: Schema,
  value: unknown,
  at: string,
  problems: string[],
): void {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = doc.components?.schemas?.[name];
    if (!target) return void problems.push(`${at}: unknown $ref ${schema.$ref}`);
    return check(doc, target, value, at, problems);
  }
  const type = schema.type as string | undefined;
  if (type !== undefined && !hasType(value, type))
    return void problems.push(
      `${at}: expected ${type}, got ${JSON.stringify(value)?.slice(0, 80)}`,
    );
  if (Array.isArray(schema.enum) && !schema.enum.includes(value))
    problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum)
      problems.push(`${at}: below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum)
      problems.push(`${at}: above ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength)
      problems.push(`${at}: too short`);
    if (schema.format === 'date-time' && !(RFC3339.test(value) && !Number.isNaN(Date.parse(value))))
      problems.push(`${at}: ${value} is not an RFC 3339 date-time`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems)
      problems.push(`${at}: too few items`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
      problems.push(`${at}: too many items`);
    if (schema.items)
      value.forEach((item, i) => check(doc, schema.items as Schema, item, `${at}[${i}]`, problems));
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const record = value as Record<string, unknown>;
    for (const name of (schema.required ?? []) as string[])
      if (!(name in record)) problems.push(`${at}: ${name} is required`);
    for (const [name, item] of Object.entries(record)) {
      const property = properties[name];
      if (property) check(doc, property, item, `${at}.${name}`, problems);
      else if (schema.additionalProperties === false)
        problems.push(`${at}: ${name} is not described`);
    }
  }
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined for other content. */
  body: unknown;
  /** The raw body (not read for event streams). */
  bytes: Buffer;
  /** What the document says is wrong with this response. */
  problems: string[];
}

/**
 * Calls an HTTP API by route template (`/api/v1/transfers/{clientId}/{fileId}`, parameters
 * percent-encoded into it) and checks every response against the OpenAPI document.
 */
export class OpenApiClient {
  constructor(
    readonly baseUrl: string,
    readonly doc: OpenApiDocument,
    readonly headers: Record<string, string> = {},
  ) {}

  /** Reads the document from `${baseUrl}${path}`. */
  static async fetch(
    baseUrl: string,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<OpenApiClient> {
    const res = await fetch(`${baseUrl}${path}`);
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    return new OpenApiClient(baseUrl, (await res.json()) as OpenApiDocument, headers);
  }

  url(route: string, params: Record<string, string> = {}, query: Record<string, string> = {}) {
    const path = route.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = params[name];
      if (value === undefined) throw new Error(`no value for ${name}`);
      return encodeURIComponent(value);
    });
    const search = new URLSearchParams(query).toString();
    return `${this.baseUrl}${path}${search === '' ? '' : `?${search}`}`;
  }

  async request(
    method: string,
    route: string,
    options: {
      params?: Record<string, string>;
      query?: Record<string, string>;
      headers?: Record<string, string>;
    } = {},
  ): Promise<ApiResponse> {
    const res = await fetch(this.url(route, options.params, options.query), {
      method,
      headers: { ...this.headers, ...options.headers },
      redirect: 'manual',
    });
    const contentType = res.headers.get('content-type');
    const bytes = Buffer.from(await res.arrayBuffer());
    const isJson = contentType?.startsWith('application/json') ?? false;
    const body: unknown = isJson ? JSON.parse(bytes.toString('utf8')) : undefined;
    const problems = openApiProblems(this.doc, {
      route,
      method,
      status: res.status,
      contentType: res.status === 204 || res.status === 302 ? null : contentType,
      body,
    });
    return { status: res.status, headers: res.headers, body, bytes, problems };
  }
}
