import { workerdEngine } from "@siglip-edge/runtime/workerd";

export default {
  async fetch(): Promise<Response> {
    const engine = workerdEngine();
    return Response.json({ engine: engine.name });
  },
};
