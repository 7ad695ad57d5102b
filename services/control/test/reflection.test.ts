import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ReflectionService } from '../src/reflection.js';

const service = new ReflectionService(['mqft.v1.TransferService', 'grpc.health.v1.Health']);
const fileNames = (bytes: Buffer[] | undefined) =>
  (bytes ?? []).map((b) => fromBinary(FileDescriptorProtoSchema, b).name);

describe('ReflectionService', () => {
  it('lists the services it was given', () => {
    const response = service.answer({ host: 'h', listServices: '*' });
    expect(response.validHost).toBe('h');
    expect(response.listServicesResponse?.service.map((s) => s.name)).toEqual([
      'mqft.v1.TransferService',
      'grpc.health.v1.Health',
    ]);
  });

  it('finds the file of a service, method, message or enum, with its imports', () => {
    for (const symbol of [
      'mqft.v1.TransferService',
      'mqft.v1.TransferService.GetTransfer',
      '.mqft.v1.GetTransferRequest',
    ]) {
      const files = fileNames(
        service.answer({ host: '', fileContainingSymbol: symbol }).fileDescriptorResponse
          ?.fileDescriptorProto,
      );
      expect(files[0], symbol).toBe('mqft/v1/transfer_service.proto');
      expect(files).toEqual(
        expect.arrayContaining([
          'mqft/v1/transfer.proto',
          'google/protobuf/timestamp.proto',
          'google/protobuf/struct.proto',
        ]),
      );
    }
    const transfer = service.answer({ host: '', fileContainingSymbol: 'mqft.v1.TransferState' });
    expect(fileNames(transfer.fileDescriptorResponse?.fileDescriptorProto)[0]).toBe(
      'mqft/v1/transfer.proto',
    );
  });

  it('serves files by name, comments included', () => {
    const response = service.answer({ host: '', fileByFilename: 'mqft/v1/transfer.proto' });
    const [bytes] = response.fileDescriptorResponse?.fileDescriptorProto ?? [];
    const file = fromBinary(FileDescriptorProtoSchema, bytes as Buffer);
    expect(file.package).toBe('mqft.v1');
    const comments = file.sourceCodeInfo?.location.map((l) => l.leadingComments).join('\n');
    expect(comments).toContain('One file transfer of one device');
  });

  it('answers NOT_FOUND for unknown symbols, files and any extension question', () => {
    expect(
      service.answer({ host: '', fileContainingSymbol: 'nope.Nothing' }).errorResponse?.errorCode,
    ).toBe(status.NOT_FOUND);
    expect(
      service.answer({ host: '', fileByFilename: 'nope.proto' }).errorResponse?.errorCode,
    ).toBe(status.NOT_FOUND);
    expect(
      service.answer({ host: '', allExtensionNumbersOfType: 'mqft.v1.Transfer' }).errorResponse
        ?.errorCode,
    ).toBe(status.NOT_FOUND);
  });
});
