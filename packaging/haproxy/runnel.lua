-- runnel_node: the cluster node that a request's live id names, or "".
--
-- A Linkis execID is three two-digit lengths (creator, engine type,
-- instance) followed by the creator, the engine type, the instance, ...;
-- on a runnel cluster node the instance is the node's cluster.node_id.
-- The execID is the path segment after /api/rest_j/v1/entrance/ in the
-- status, progress, log and kill requests.
core.register_converters("runnel_node", function(path)
    local eid = path:match("^/api/rest_j/v1/entrance/([^/]+)/")
    if not eid then
        return ""
    end
    local lc, le, li = eid:match("^(%d%d)(%d%d)(%d%d)")
    if not lc then
        return ""
    end
    local from = 7 + tonumber(lc) + tonumber(le)
    local node = eid:sub(from, from + tonumber(li) - 1)
    if #node ~= tonumber(li) or not node:match("^[a-z0-9-]+$") then
        return ""
    end
    return node
end)
