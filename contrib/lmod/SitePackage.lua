--------------------------------------------------------------------------
-- lmod-tracking: log one syslog line per module loaded.
--
--   user=alice module=gcc/12.2.0 path=/opt/mf/gcc/12.2.0.lua host=node1
--   time=1712658796.123456 jobid=4242 userload=yes cluster=alpha
--
-- (one line, tag ModuleUsageTracking, facility local0, level info).
-- Install: put this file in a directory and point LMOD_PACKAGE_PATH at
-- that directory (see the README section "Setting up tracking").
--
-- Loads are collected in the "load" hook and sent when Lmod finishes the
-- command, which it does only when the command got through: a `module load`
-- that ends in an error (a failing modulefile, an unknown module) logs
-- nothing, not even the dependencies it had loaded.
--
-- Environment (all optional):
--   LMOD_TRACKING_CLUSTER the cluster name logged as cluster=; default: the
--                         job's SLURM_CLUSTER_NAME, else LMOD_SYSHOST; none:
--                         no cluster= (lmod-parse --cluster can add it)
--   LMOD_TRACKING_SOCKET  send with `logger -u SOCKET` to this unix socket
--                         instead of the system log (tests, containers)
--   LMOD_TRACKING_LOGGER  the logger program to run (default: logger)
-- Either one selects `logger`; otherwise luaposix's syslog is used when it
-- is there, and `logger -t ModuleUsageTracking -p local0.info --` if not.
--------------------------------------------------------------------------
require("strict")
local hook     = require("Hook")
local FrameStk = require("FrameStk")
local getenv   = os.getenv

local TAG = "ModuleUsageTracking"

-- A library that is missing or too old yields nil instead of an error.
local function optional(name)
   local ok, lib = pcall(require, name)
   if (ok and type(lib) == "table") then return lib end
   return nil
end

local psyslog = optional("posix.syslog")
local ptime   = optional("posix.sys.time")
local punistd = optional("posix.unistd")
local ppwd    = optional("posix.pwd")
local puts    = optional("posix.sys.utsname")

local function nonEmpty(s)
   if (s ~= nil and s ~= "") then return s end
   return nil
end

-- The account name from the passwd database, else from the environment.
local function userName()
   if (punistd and ppwd) then
      local pw = ppwd.getpwuid(punistd.getuid())
      if (pw and nonEmpty(pw.pw_name)) then return pw.pw_name end
   end
   return nonEmpty(getenv("USER")) or nonEmpty(getenv("LOGNAME"))
end

local function hostName()
   if (puts) then
      local u = puts.uname()
      if (u and nonEmpty(u.nodename)) then return u.nodename end
   end
   local f = io.open("/proc/sys/kernel/hostname")
   if (f) then
      local h = f:read("*l")
      f:close()
      if (nonEmpty(h)) then return h end
   end
   return nonEmpty(getenv("HOSTNAME")) or "unknown"
end

-- Epoch seconds with microseconds, printed from the integer parts so no
-- float rounding can touch the last digit.
local function epochText()
   if (ptime) then
      local tv = ptime.gettimeofday()
      if (tv) then return string.format("%d.%06d", tv.tv_sec, tv.tv_usec) end
   end
   -- Lmod's own epoch(), when this Lmod defines it (rawget: strict.lua rejects unknown globals).
   local lmodEpoch = rawget(_G, "epoch")
   local t = (type(lmodEpoch) == "function") and lmodEpoch() or os.time()
   return string.format("%f", t)
end

local function jobId()
   return nonEmpty(getenv("SLURM_JOB_ID")) or nonEmpty(getenv("SLURM_JOBID"))
       or nonEmpty(getenv("PBS_JOBID")) or ""
end

local function clusterName()
   return nonEmpty(getenv("LMOD_TRACKING_CLUSTER")) or nonEmpty(getenv("SLURM_CLUSTER_NAME"))
       or nonEmpty(getenv("LMOD_SYSHOST"))
end

-- A value with blanks is quoted so the line still splits into key=value
-- pairs; control characters would end or split a syslog line.
local function field(key, value)
   value = tostring(value):gsub("%c", "?")
   if (value:find("[%s\"']")) then
      if (value:find('"', 1, true)) then
         value = "'" .. value:gsub("'", "?") .. "'"
      else
         value = '"' .. value .. '"'
      end
   end
   return key .. "=" .. value
end

-- cluster= comes last, and only when known: lmod-parse reads it there fastest.
local function message(load)
   local fields = {
      field("user",     load.user),
      field("module",   load.module),
      field("path",     load.path),
      field("host",     load.host),
      field("time",     load.time),
      field("jobid",    load.jobid),
      field("userload", load.userload and "yes" or "no"),
   }
   if (load.cluster) then fields[#fields + 1] = field("cluster", load.cluster) end
   return table.concat(fields, " ")
end

local function shellQuote(s)
   return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- logger's output is discarded: Lmod's stdout is evaluated by the shell.
local function sendWithLogger(messages)
   local cmd = { shellQuote(nonEmpty(getenv("LMOD_TRACKING_LOGGER")) or "logger"),
                 "-t", TAG, "-p", "local0.info" }
   local socket = nonEmpty(getenv("LMOD_TRACKING_SOCKET"))
   if (socket) then
      cmd[#cmd + 1] = "-u"
      cmd[#cmd + 1] = shellQuote(socket)
   end
   cmd[#cmd + 1] = "--"
   local prefix = table.concat(cmd, " ")
   for _, msg in ipairs(messages) do
      os.execute(prefix .. " " .. shellQuote(msg) .. " </dev/null >/dev/null 2>&1")
   end
end

local function sendWithSyslog(messages)
   psyslog.openlog(TAG, 0, psyslog.LOG_LOCAL0)
   for _, msg in ipairs(messages) do
      psyslog.syslog(psyslog.LOG_INFO, msg)
   end
   psyslog.closelog()
end

local function useLogger()
   return psyslog == nil or nonEmpty(getenv("LMOD_TRACKING_SOCKET")) ~= nil
       or nonEmpty(getenv("LMOD_TRACKING_LOGGER")) ~= nil
end

local pending = {}

-- Called after each modulefile is loaded, with the frame of that module
-- still on Lmod's stack: a module the user named is the only frame
-- (atTop), a dependency loads inside its parent's frame.
local function loadHook(t)
   pcall(function()
      pending[#pending + 1] = {
         module   = t.modFullName,
         path     = t.fn,
         time     = epochText(),
         userload = FrameStk:singleton():atTop(),
      }
   end)
end

local function finalizeHook()
   if (#pending == 0) then return end
   local loads = pending
   pending = {}
   -- Nothing here may raise into Lmod: a logging failure must not fail
   -- the user's module command.
   pcall(function()
      local user = userName()
      if (not user) then return end
      local host, jobid, cluster = hostName(), jobId(), clusterName()
      local messages = {}
      for _, load in ipairs(loads) do
         load.user, load.host, load.jobid, load.cluster = user, host, jobid, cluster
         messages[#messages + 1] = message(load)
      end
      if (useLogger()) then
         sendWithLogger(messages)
      else
         sendWithSyslog(messages)
      end
   end)
end

hook.register("load", loadHook)
-- Lmod runs its exit hooks right after the "finalize" hook, on success only.
-- ExitHookA (a global of Lmod's) adds to a list, where hook.register would
-- replace a site's own finalize hook.
ExitHookA.register(finalizeHook)
