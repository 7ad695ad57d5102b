#!/usr/bin/env node
// Starts the TypeScript entry point through tsx, so the CLI runs from source without a build.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
