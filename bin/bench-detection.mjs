#!/usr/bin/env node
// `npm run bench:detection`: ours vs torchvision's detectors (not part of `npm test`). See bench/detection-bench.ts.
import { register } from 'tsx/esm/api';

register();
await import('../bench/detection-bench.ts');
