// The lab CLI: npx tsx lab/lab.ts <start|stop|status> [area...]
import { LabError, knownAreas, labDir, labStatus, startLab, stopLab } from './runner.ts';

const usage = `usage: npx tsx lab/lab.ts <start|stop|status> [area...]
areas: ${knownAreas().join(', ')}
state: ${labDir} (PORTOLAN_LAB_DIR)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...areas] = argv;
  switch (command) {
    case 'start':
      await startLab(areas, { fresh: true });
      return 0;
    case 'stop':
      await stopLab(areas);
      return 0;
    case 'status': {
      const statuses = await labStatus(areas);
      const width = Math.max(...statuses.map((status) => status.name.length));
      for (const status of statuses) {
        const pids = status.pids.length > 0 ? `pid ${status.pids.join(',')}` : 'not started by the lab';
        const state = status.healthy ? 'healthy' : `DOWN: ${status.problem}`;
        console.log(`${status.name.padEnd(width)}  ${status.area}  ${status.ports.join(',')}  ${pids}  ${state}`);
      }
      return statuses.every((status) => status.healthy) ? 0 : 3;
    }
    default:
      console.error(usage);
      return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof LabError ? `[lab] ${error.message}` : error);
    process.exit(1);
  },
);
