#!/usr/bin/env node
// Per-kernel profile of one training step (a profiling aid, not part of `npm test`). See bench/profile-step.ts.
import { register } from 'tsx/esm/api';

register();
await import('../bench/profile-step.ts');
