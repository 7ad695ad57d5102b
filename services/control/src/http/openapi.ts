import { sendJson } from './respond.js';
import type { Route } from './router.js';

/**
 * The OpenAPI 3.1 document of the HTTP API: the one description of every route, served at
 * /api/v1/openapi.json and checked against the responses by the integration tests.
 */
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const error = (description: string) => json(ref('Error'), description);
const pathId = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description: `${description}, percent-encoded (the anonymous namespace's U+0000 is %00)`,
  schema: { type: 'string' },
});
const transferPath = [pathId('clientId', 'the MQTT clientId'), pathId('fileId', 'the file id')];
const secured = [{ bearer: [] }, { basic: [] }];
const common = {
  '401': error('no valid API token'),
  '503': error('Redis or NATS unavailable, or the state is being rebuilt; retry'),
};
const STATES = ['receiving', 'assembling', 'complete', 'failed', 'aborted', 'expired'];

export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'mqft control HTTP API',
    version: '1',
    description:
      "EMQX 5-compatible file-transfer routes (/api/v5) and mqft's own (/api/v1). Errors are {code, message}.",
  },
  security: secured,
  paths: {
    '/api/v5/file_transfer/files': {
      get: {
        operationId: 'emqxListFiles',
        summary: 'Stored files (EMQX: GET /api/v5/file_transfer/files)',
        parameters: [
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
          {
            name: 'following',
            in: 'query',
            description: 'the cursor of the previous page',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': json(ref('EmqxFileList'), 'a page of files; `cursor` when more may follow'),
          '400': error('BAD_REQUEST: "Invalid cursor", or a bad limit'),
          ...common,
        },
      },
    },
    '/api/v5/file_transfer/files/{clientid}/{fileid}': {
      get: {
        operationId: 'emqxTransferFiles',
        summary:
          "One transfer's stored file (EMQX: GET /api/v5/file_transfer/files/{clientid}/{fileid})",
        parameters: [pathId('clientid', 'the MQTT clientId'), pathId('fileid', 'the file id')],
        responses: {
          '200': json(ref('EmqxFileList'), 'the stored file'),
          '404': error('FILES_NOT_FOUND'),
          ...common,
        },
      },
    },
    '/api/v5/file_transfer/file': {
      get: {
        operationId: 'emqxDownloadFile',
        summary: 'Download a stored file (EMQX: GET /api/v5/file_transfer/file)',
        parameters: [
          {
            name: 'fileref',
            in: 'query',
            required: true,
            description: "the file's reference, as in its `uri`",
            schema: { type: 'string' },
          },
          {
            name: 'node',
            in: 'query',
            description: 'accepted and ignored (storage is shared)',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': {
            description: 'the bytes, `content-disposition: attachment`',
            content: {
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
            },
          },
          '302': { description: 'S3: to a presigned URL' },
          '400': error('BAD_REQUEST: no fileref'),
          '404': error('NOT_FOUND'),
          ...common,
        },
      },
    },
    '/api/v1/transfers': {
      get: {
        operationId: 'listTransfers',
        summary: 'Transfers in every state, oldest first; filter by client and state',
        parameters: [
          { name: 'client', in: 'query', schema: { type: 'string', minLength: 1 } },
          {
            name: 'state',
            in: 'query',
            description: 'repeat, or comma-separate, for several',
            schema: { type: 'string' },
          },
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', minimum: 0, maximum: 1000, default: 100 },
          },
          { name: 'page_token', in: 'query', schema: { type: 'string' } },
        ],
        responses: {
          '200': json(ref('TransferList'), 'a page; `next_page_token` when more may follow'),
          '400': error('BAD_REQUEST'),
          ...common,
        },
      },
    },
    '/api/v1/transfers/{clientId}/{fileId}': {
      get: {
        operationId: 'getTransfer',
        summary: 'One transfer',
        parameters: transferPath,
        responses: {
          '200': json(ref('Transfer'), 'the transfer'),
          '404': error('NOT_FOUND'),
          ...common,
        },
      },
    },
    '/api/v1/transfers/{clientId}/{fileId}/abort': {
      post: {
        operationId: 'abortTransfer',
        summary: 'Abort a transfer; the device is told on its response topic',
        parameters: transferPath,
        responses: {
          '200': json(ref('Transfer'), 'the transfer after the abort'),
          '404': error('NOT_FOUND'),
          '409': error('CONFLICT: the transfer is complete'),
          '504': error('DEADLINE_EXCEEDED: queued, not yet carried out'),
          ...common,
        },
      },
    },
    '/api/v1/transfers/{clientId}/{fileId}/content': {
      get: {
        operationId: 'getTransferContent',
        summary: 'The stored file of a complete transfer',
        parameters: transferPath,
        responses: {
          '200': {
            description: 'the bytes (file storage), `content-disposition: attachment`',
            content: {
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
            },
          },
          '302': { description: 'S3: to a presigned URL' },
          '404': error('NOT_FOUND'),
          '409': error('CONFLICT: not complete'),
          ...common,
        },
      },
    },
    '/api/v1/files/{clientId}/{fileId}': {
      delete: {
        operationId: 'deleteFile',
        summary:
          "Delete a complete transfer's stored file (idempotent); the transfer stays, without location",
        parameters: transferPath,
        responses: {
          '204': { description: 'deleted' },
          '404': error('NOT_FOUND'),
          '409': error('CONFLICT: not complete'),
          ...common,
        },
      },
    },
    '/api/v1/events': {
      get: {
        operationId: 'transferEvents',
        summary: 'Server-Sent Events: `ready`, then `transfer` (a Transfer) on every change',
        parameters: [
          { name: 'client', in: 'query', schema: { type: 'string', minLength: 1 } },
          { name: 'state', in: 'query', schema: { type: 'string' } },
          {
            name: 'snapshot',
            in: 'query',
            description: 'true: every matching transfer first, then `ready`',
            schema: { type: 'string', enum: ['true', 'false'] },
          },
        ],
        responses: {
          '200': {
            description:
              'text/event-stream: `event: transfer` + `data: <Transfer>`; `event: ready` + `data: {}`; `event: error` + `data: <Error>` before the server ends it; `: heartbeat` comments',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          '400': error('BAD_REQUEST'),
          ...common,
        },
      },
    },
    '/console/{path}': {
      get: {
        operationId: 'consoleAsset',
        summary:
          "The console's static files (MQFT_CONSOLE_DIR; `/console/` is index.html; no token needed)",
        security: [],
        parameters: [
          {
            name: 'path',
            in: 'path',
            required: true,
            description: 'a file under the console directory (may contain /)',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': { description: 'the file' },
          '404': error('NOT_FOUND: no such file (or the console is not built)'),
        },
      },
    },
    '/api/v1/openapi.json': {
      get: {
        operationId: 'openApi',
        summary: 'This document (no token needed)',
        security: [],
        responses: { '200': json({ type: 'object' }, 'the OpenAPI document') },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'an MQFT_API_TOKENS token' },
      basic: {
        type: 'http',
        scheme: 'basic',
        description:
          "EMQX's API key form: any user name and the token as password, or the token as user name with an empty password",
      },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string' }, message: { type: 'string' } },
      },
      EmqxFile: {
        type: 'object',
        required: ['clientid', 'fileid', 'name', 'size', 'timestamp', 'uri'],
        properties: {
          clientid: { type: 'string' },
          fileid: { type: 'string' },
          name: { type: 'string' },
          size: { type: 'integer', minimum: 0 },
          timestamp: { type: 'string', format: 'date-time' },
          uri: { type: 'string' },
          metadata: { type: 'object', description: "the init's filemeta as the device sent it" },
        },
        additionalProperties: false,
      },
      EmqxFileList: {
        type: 'object',
        required: ['files'],
        properties: {
          files: { type: 'array', items: ref('EmqxFile') },
          cursor: { type: 'string' },
        },
        additionalProperties: false,
      },
      Transfer: {
        type: 'object',
        required: [
          'client_id',
          'file_id',
          'key',
          'name',
          'state',
          'bytes_confirmed',
          'segment_count',
          'created_at',
          'updated_at',
        ],
        properties: {
          client_id: { type: 'string' },
          file_id: { type: 'string' },
          key: { type: 'string', description: 'base64url(client_id).base64url(file_id)' },
          name: { type: 'string', description: "the init's file name; empty before an init" },
          state: { type: 'string', enum: STATES },
          size: { type: 'integer', minimum: 0 },
          declared_size: { type: 'integer', minimum: 0 },
          bytes_confirmed: { type: 'integer', minimum: 0 },
          segment_count: { type: 'integer', minimum: 0 },
          missing: {
            type: 'array',
            description: '[start, end) byte ranges the last failed fin reported missing',
            items: {
              type: 'array',
              items: { type: 'integer', minimum: 0 },
              minItems: 2,
              maxItems: 2,
            },
          },
          location: {
            type: 'string',
            description: 'where the file is, once complete (not after a delete)',
          },
          checksum: { type: 'string' },
          error_reason: { type: 'string' },
          error_code: { type: 'integer' },
          user_data: { type: 'object' },
          created_at: { type: 'string', format: 'date-time' },
          updated_at: { type: 'string', format: 'date-time' },
          completed_at: { type: 'string', format: 'date-time' },
          expire_at: { type: 'string', format: 'date-time' },
        },
        additionalProperties: false,
      },
      TransferList: {
        type: 'object',
        required: ['transfers'],
        properties: {
          transfers: { type: 'array', items: ref('Transfer') },
          next_page_token: { type: 'string' },
        },
        additionalProperties: false,
      },
    },
  },
} as const;

export function openApiRoute(): Route {
  return {
    method: 'GET',
    template: '/api/v1/openapi.json',
    open: true,
    handle({ res }) {
      sendJson(res, 200, OPENAPI_DOCUMENT);
      return Promise.resolve();
    },
  };
}
