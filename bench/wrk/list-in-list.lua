-- wrk workload: GET /api/{user}/tasks?list={id}&sort=position&limit=50 — the first
-- page of one list in manual order, for a random user of those listinlist.py filed
-- (20 lists each, one of them holding 500 tasks)
-- usage: BENCH_OUT=bench/out wrk -t2 -c64 -d15s --latency -s bench/wrk/list-in-list.lua http://127.0.0.1:PORT
BENCH_LUA_DIR = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local w = dofile(BENCH_LUA_DIR .. "/common.lua")

local out_dir = os.getenv("BENCH_OUT") or (BENCH_LUA_DIR .. "/../out")
local lists = {} -- k -> {user index, list id}

local base_init = init
function init(args)
  base_init(args)
  local index = {}
  for i, u in ipairs(w.users) do index[u] = i end
  local f = io.open(out_dir .. "/list_ids.txt", "r")
  if not f then error("cannot open " .. out_dir .. "/list_ids.txt (run bench/listinlist.py first)") end
  for line in f:lines() do
    local u, id = line:match("^([^\t]+)\t([^\t\r\n]+)")
    if u and index[u] then lists[#lists + 1] = { index[u], id } end
  end
  f:close()
  if #lists == 0 then error("no lists loaded from " .. out_dir .. "/list_ids.txt") end
end

function request()
  local l = lists[math.random(#lists)]
  return wrk.format("GET", "/api/" .. w.users[l[1]] .. "/tasks?list=" .. l[2] .. "&sort=position&limit=50", w.headers[l[1]])
end
