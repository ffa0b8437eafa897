#!/usr/bin/env node
// `npm run bench`: training-speed benchmark (not part of `npm test`). See bench/main.ts.
import { register } from 'tsx/esm/api';

register();
await import('../bench/main.ts');
