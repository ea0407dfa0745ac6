// A test Worker: runs the deadline scenario inside workerd and answers its results as JSON.
import { runDeadlineScenario } from '../deadline-scenario.ts';

export default {
  async fetch(request: Request): Promise<Response> {
    const timeoutMs = Number(new URL(request.url).searchParams.get('timeoutMs') ?? '300');
    return Response.json(await runDeadlineScenario(timeoutMs));
  },
};
