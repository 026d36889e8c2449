import { realtime } from "./realtime.js";
