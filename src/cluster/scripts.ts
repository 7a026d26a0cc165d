/**
 * The Lua scripts castline runs in Redis: each is one atomic step (Redis runs a script without
 * interleaving other commands), so no lock or consensus is written by hand.
 */
import type Redis from 'ioredis';

/** Takes a channel for a session unless another holds it; reserves the stream id too. */
const TAKE_CHANNEL = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 'id-taken' end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
  return 'taken'
end
return 'busy'`;

/** Frees a channel if (and only if) this session still holds it. */
const RELEASE_CHANNEL = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Extends each claim this node holds (ARGV[1] = ttl ms, ARGV[i+1] = the value of KEYS[i]); a claim
 * that expired meanwhile is taken again if still free. Returns the 1-based indices of claims
 * another session holds now (lost).
 */
const REFRESH_CHANNELS = `
local lost = {}
for i, key in ipairs(KEYS) do
  local held = redis.call('GET', key)
  if held == ARGV[i + 1] then redis.call('PEXPIRE', key, ARGV[1])
  elseif not held then redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1])
  else table.insert(lost, i) end
end
return lost`;

/** Appends an event to the shared queue once (its id remembered): returns the entry id, or nil when already appended. */
const APPEND_EVENT = `
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  return redis.call('XADD', KEYS[1], '*', 'event', ARGV[1])
end
return false`;

/**
 * Places a stream on the encoder node with the most free capacity and reserves it there, in one
 * step (no two ingest nodes can overbook one encoder). ARGV[1] = stream id, then pairs of live
 * encoder node id and capacity (-1 = unlimited: free = 1e9 - load). A stream placed before (a
 * re-placement) frees its old reservation first. Returns the node id, or nil when none has room.
 */
const PLACE = `
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  redis.call('HINCRBY', KEYS[1], old, -1)
  redis.call('HDEL', KEYS[2], ARGV[1])
end
local loads = {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do loads[flat[i]] = tonumber(flat[i + 1]) end
local best, bestFree = false, 0
for i = 2, #ARGV - 1, 2 do
  local node, capacity = ARGV[i], tonumber(ARGV[i + 1])
  local load = loads[node] or 0
  local free
  if capacity < 0 then free = 1e9 - load else free = capacity - load end
  if free > bestFree then best, bestFree = node, free end
end
if not best then return false end
redis.call('HINCRBY', KEYS[1], best, 1)
redis.call('HSET', KEYS[2], ARGV[1], best)
return best`;

/** Frees a stream's reservation (if it still has one on ARGV[2]): returns 1 when freed. */
const UNPLACE = `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[2], -1)
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`;

/** This node's cluster-wide number: given once per node id, kept forever. */
const NODE_INDEX = `
local i = redis.call('HGET', KEYS[1], ARGV[1])
if i then return tonumber(i) end
i = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], i)
return i`;

/** The scripts as typed calls (ioredis sends them by SHA, loading them on first use). */
export interface ClusterScripts {
  takeChannel(channelKey: string, idKey: string, value: string, ttlMs: number, idSeconds: number): Promise<'taken' | 'busy' | 'id-taken'>;
  releaseChannel(channelKey: string, value: string): Promise<number>;
  /** numberOfKeys, the keys, the ttl in ms, then one value per key. */
  refreshChannels(numberOfKeys: number, ...keysThenTtlThenValues: Array<string | number>): Promise<number[]>;
  nodeIndex(hashKey: string, seqKey: string, nodeId: string): Promise<number>;
  appendEvent(queueKey: string, seenKey: string, eventJson: string, seenSeconds: number): Promise<string | null>;
  place(loadKey: string, placementsKey: string, streamId: string, ...nodeCapacityPairs: Array<string | number>): Promise<string | null>;
  unplace(loadKey: string, placementsKey: string, streamId: string, nodeId: string): Promise<number>;
}

export function defineScripts(redis: Redis): ClusterScripts {
  redis.defineCommand('takeChannel', { numberOfKeys: 2, lua: TAKE_CHANNEL });
  redis.defineCommand('releaseChannel', { numberOfKeys: 1, lua: RELEASE_CHANNEL });
  redis.defineCommand('refreshChannels', { lua: REFRESH_CHANNELS });
  redis.defineCommand('nodeIndex', { numberOfKeys: 2, lua: NODE_INDEX });
  redis.defineCommand('appendEvent', { numberOfKeys: 2, lua: APPEND_EVENT });
  redis.defineCommand('place', { numberOfKeys: 2, lua: PLACE });
  redis.defineCommand('unplace', { numberOfKeys: 2, lua: UNPLACE });
  // defineCommand adds methods ioredis cannot type: this is the one place they are named.
  return redis as unknown as ClusterScripts;
}
