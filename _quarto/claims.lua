-- Claims: a data-dependent sentence of the article, marked
--
--   [the rank correlations were weaker]{#enrich-ranks-weaker .claim}
--
-- is judged at every build (src/casereport/analyses/claim_rules.py) and the verdicts are
-- written to build/claims.json. A sentence whose claim holds renders as written. One that
-- fails (or cannot be evaluated on these data) is kept, marked with the class
-- `claim-failed` (`claim-not-evaluable`), highlighted, and followed by what the numbers now
-- say, in HTML, Typst PDF and the no-Quarto preview alike (the preview passes this filter
-- to pandoc, with the path of claims.json in the metadata field `casereport-claims`).
-- A second sentence resting on the same claim is marked [...]{.claim of="claim-id"}.
-- A claim id with no verdict is an error: the article names a claim nobody declared.

local verdicts = nil
local path = nil

local function read_verdicts(path)
  local f = io.open(path, "r")
  if f == nil then
    error("claims: " .. path .. " does not exist; run `casereport build` first")
  end
  local text = f:read("a")
  f:close()
  local out = {}
  for _, v in ipairs(pandoc.json.decode(text, false).claims) do
    out[v.id] = v
  end
  return out
end

local function claims_path(meta)
  local given = meta and meta["casereport-claims"]
  if given ~= nil then
    return pandoc.utils.stringify(given)
  end
  local root = (quarto and quarto.project and quarto.project.directory) or "."
  return pandoc.path.join({ root, "build", "claims.json" })
end

local function is_typst()
  return FORMAT:match("typst") ~= nil
end

local function note(v)
  local head = v.status == "fails" and "Not supported by these data: "
    or "Not evaluable on these data: "
  local body = v.status == "fails" and v.now or v.reason
  return pandoc.Strong({ pandoc.Str("[\u{26A0} " .. head .. body .. "]") })
end

local function mark(el, inlines_of, rebuild)
  if not el.classes:includes("claim") then
    return nil
  end
  local id = el.attributes["of"] or el.identifier
  verdicts = verdicts or read_verdicts(path or claims_path(nil))
  local v = verdicts[id]
  if v == nil then
    error("claims: the article marks claim '" .. id .. "', which no analysis declares "
      .. "(see analyses/claims_registry.py)")
  end
  if v.status == "holds" then
    return nil
  end
  el.classes:insert(v.status == "fails" and "claim-failed" or "claim-not-evaluable")
  return rebuild(el, note(v))
end

local function span(el)
  return mark(el, nil, function(e, n)
    local content = e.content
    content:insert(pandoc.Space())
    content:insert(n)
    if is_typst() then
      content:insert(1, pandoc.RawInline("typst", '#highlight(fill: rgb("#ffd6d6"))['))
      content:insert(pandoc.RawInline("typst", "]"))
    end
    e.content = content
    return e
  end)
end

local function div(el)
  return mark(el, nil, function(e, n)
    e.content:insert(pandoc.Para({ n }))
    if is_typst() then
      e.content:insert(1, pandoc.RawBlock("typst", '#block(fill: rgb("#ffd6d6"), inset: 4pt)['))
      e.content:insert(pandoc.RawBlock("typst", "]"))
    end
    return e
  end)
end

return {
  {
    Meta = function(meta)
      path = claims_path(meta)
    end,
  },
  { Span = span, Div = div },
}
