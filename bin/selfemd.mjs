#!/usr/bin/env node
// The headless `selfemd` command. Runs the TypeScript sources through tsx, so the repository
// needs no build step for the CLI, the jobs or the tests.
import { register } from 'tsx/esm/api';

register();
await import('../src-main/cli/main.ts');
