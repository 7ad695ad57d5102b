import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import { createFileRegistry, fromBinary, toBinary, type DescFile } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { descriptorSet, reflection } from '@mqft/api';

type Request = reflection.ServerReflectionRequest;
type Response = reflection.ServerReflectionResponse;

/**
 * gRPC server reflection (grpc.reflection.v1, also answered under v1alpha, whose messages
 * are the same) over the descriptor set generated from proto/ — bundle-safe, no proto files
 * read at run time. Serves the listed services and every file of the set, with comments.
 *
 * Why not `@grpc/reflection` (1.0.4, checked 2026-12): it would take the descriptor set (as a
 * proto-loader package definition of `fileDescriptorProtos`) and answer v1 and v1alpha, but
 * - its `addToServer` loads `grpc/reflection/v1{,alpha}/reflection.proto` through
 *   @grpc/proto-loader from `path.join(__dirname, '../../proto/…')`. control runs as one ESM
 *   bundle from dist/ alone (scripts/build.mjs, deploy/Dockerfile,
 *   test/ops/image-layout.int.test.ts): there `__dirname` is not defined ("ReferenceError:
 *   __dirname is not defined in ES module scope", tried with build.mjs's settings) and the
 *   .proto files are not shipped;
 * - the code that answers requests sits in private members (`v1`, `v1Alpha`) working on
 *   proto-loader's object shapes, so it cannot be served under the generated definitions
 *   instead without reaching into its internals.
 * Copying its .proto files into the image and defining `__dirname` per bundled module would
 * make it run, at the cost of a build step more fragile than this file.
 */
export class ReflectionService {
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly encoded = new Map<DescFile, Buffer>();

  constructor(private readonly services: readonly string[]) {
    const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet()));
    for (const file of registry.files) {
      this.files.set(file.proto.name, file);
      this.encoded.set(file, Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)));
    }
    for (const desc of registry) {
      this.symbols.set(desc.typeName, desc.file);
      if (desc.kind === 'service') {
        for (const method of desc.methods)
          this.symbols.set(`${desc.typeName}.${method.name}`, desc.file);
      }
    }
  }

  /** The grpc-js service definitions of v1 and v1alpha, both served by this implementation. */
  definitions() {
    const v1 = reflection.ServerReflectionService;
    const v1alpha = {
      serverReflectionInfo: {
        ...v1.serverReflectionInfo,
        path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
      },
    } as const;
    return { v1, v1alpha };
  }

  readonly implementation: reflection.ServerReflectionServer = {
    serverReflectionInfo: (call: ServerDuplexStream<Request, Response>) => {
      call.on('data', (request: Request) => call.write(this.answer(request)));
      call.on('end', () => call.end());
    },
  };

  answer(request: Request): Response {
    const response: Response = { validHost: request.host, originalRequest: request };
    if (request.listServices !== undefined) {
      response.listServicesResponse = { service: this.services.map((name) => ({ name })) };
    } else if (request.fileByFilename !== undefined) {
      const file = this.files.get(request.fileByFilename);
      if (file) response.fileDescriptorResponse = this.withDependencies(file);
      else response.errorResponse = notFound(`file ${request.fileByFilename}`);
    } else if (request.fileContainingSymbol !== undefined) {
      const file = this.symbols.get(request.fileContainingSymbol.replace(/^\./, ''));
      if (file) response.fileDescriptorResponse = this.withDependencies(file);
      else response.errorResponse = notFound(`symbol ${request.fileContainingSymbol}`);
    } else if (
      request.fileContainingExtension !== undefined ||
      request.allExtensionNumbersOfType !== undefined
    ) {
      response.errorResponse = notFound('extensions (this API defines none)');
    } else {
      response.errorResponse = {
        errorCode: status.INVALID_ARGUMENT,
        errorMessage: 'empty request',
      };
    }
    return response;
  }

  /** The file and everything it imports, transitively, the file first. */
  private withDependencies(file: DescFile): reflection.FileDescriptorResponse {
    const ordered: DescFile[] = [];
    const visit = (f: DescFile) => {
      if (ordered.includes(f)) return;
      ordered.push(f);
      f.dependencies.forEach(visit);
    };
    visit(file);
    return { fileDescriptorProto: ordered.map((f) => this.encoded.get(f) as Buffer) };
  }
}

function notFound(what: string): reflection.ErrorResponse {
  return { errorCode: status.NOT_FOUND, errorMessage: `${what} not found` };
}
