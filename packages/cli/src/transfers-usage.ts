export const TRANSFERS_USAGE = `Usage: mqft transfers <subcommand> [options]

Reads and steers transfers through the control service's gRPC API.

Subcommands:
  list                        transfers, oldest first
      --client-id ID            only this device's
      --state S[,S…]            only in these states: receiving, assembling, complete,
                                failed, aborted, expired
      --updated-after WHEN      ISO date, or a duration ago (e.g. 1h)
      --limit N                 at most N transfers (default 100; 0 = all)
  get CLIENT_ID FILE_ID       one transfer in detail
  watch                       the current transfers, then every change (Ctrl-C ends);
                              takes --client-id, --state and --updated-after like list
  abort CLIENT_ID FILE_ID     abort a transfer (as the device's abort would)
  url CLIENT_ID FILE_ID       a download URL for a stored file
      --ttl DUR                 how long a presigned URL stays valid (e.g. 15m)

The anonymous namespace (devices that gave no identity) is written CLIENT_ID %00.

Options:
  --api HOST:PORT   the control service (env MQFT_GRPC_ADDR; default 127.0.0.1:50051)
  --token TOKEN     bearer token (env MQFT_API_TOKENS, the first of a comma-separated list)
  --tls             use TLS (system CAs, or --ca FILE)
  --ca FILE         PEM CA certificates to trust
  --json            JSON instead of tables (watch: one JSON document per line)
  -h, --help        this help

Environment variables are the services' names (MQFT_GRPC_ADDR is where control listens);
the earlier MQFT_API and MQFT_API_TOKEN still work, with a warning.

Exit codes: 0 ok, 2 bad arguments, 3 API unreachable, 4 no such transfer, 8 not possible
in the transfer's state (e.g. url before complete, abort after complete), 9 token refused,
1 anything else.`;
