import type { Scenario } from '../context.js';
import { costPerSegment } from './cost.js';
import { fleet, fleetBackpressure } from './fleet.js';
import { latencyBySize } from './latency.js';
import { memory } from './memory.js';
import { scaling, scalingOnClusters } from './scaling.js';
import { manySmallFiles } from './small-files.js';
import { throughputOneFile } from './throughput.js';

export const SCENARIOS: Record<string, Scenario> = {
  'throughput-one-file': throughputOneFile,
  'latency-by-size': latencyBySize,
  'many-small-files': manySmallFiles,
  fleet,
  'fleet-backpressure': fleetBackpressure,
  memory,
  'cost-per-segment': costPerSegment,
  scaling,
  'scaling-clusters': scalingOnClusters,
};
