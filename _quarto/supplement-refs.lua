-- A reference from the article to the supplement, written as an empty span:
--
--   []{.supp ref="tbl-qca-enrich-sweep"}      -> Table S3
--   []{.supp ref="sec-audit-all"}             -> Supplement section S6
--
-- The label is a table's or figure's label in supplement/index.qmd (or an included
-- fragment), or a supplement section id. Its text comes from the rendered supplement:
-- the build renders the supplement first and reads every number from its HTML into
-- supplement/_output/numbers.json (src/casereport/report/quarto.py: render_supplement).
-- HTML: a link to supplement/index.html#label; PDF (Typst): the text alone.
-- An unknown label is a Quarto warning naming it (so `casereport build --strict` fails)
-- and shows as "?supp:label" in the text. The no-Quarto preview does the same in Python
-- (src/casereport/report/preview.py).
local numbers = nil

-- quarto.log.warning prints "(W) ..." on Quarto's log, which `casereport build` reads
-- (report/quarto.py: warnings) and --strict fails on.
local function warning(message)
  quarto.log.warning(message)
end

local function load_numbers()
  local root = (quarto and quarto.project and quarto.project.directory) or "."
  -- `casereport build` may name another file: the last render's numbers, while the
  -- supplement renders at the same time (src/casereport/report/quarto.py: render)
  local path = os.getenv("CASEREPORT_SUPPLEMENT_NUMBERS")
    or pandoc.path.join({ root, "supplement", "_output", "numbers.json" })
  local f = io.open(path, "r")
  if f == nil then
    warning("supplement references: " .. path .. " does not exist; "
      .. "`casereport build` renders the supplement before the article")
    return {}
  end
  local text = f:read("a")
  f:close()
  return pandoc.json.decode(text, false)
end

function Span(el)
  if not el.classes:includes("supp") then
    return nil
  end
  local ref = el.attributes["ref"] or ""
  numbers = numbers or load_numbers()
  local text = numbers[ref]
  if text == nil then
    warning("supplement reference: the supplement has no table, figure or "
      .. "section '" .. ref .. "' ([]{.supp ref=\"" .. ref .. "\"} in the article)")
    return pandoc.Strong({ pandoc.Str("?supp:" .. ref) })
  end
  -- a non-breaking space before the number, as in Quarto's own references
  local inlines = pandoc.Inlines({})
  local words = {}
  for w in text:gsub(" (S%d+)$", "\u{a0}%1"):gmatch("%S+") do
    table.insert(words, w)
  end
  for i, w in ipairs(words) do
    if i > 1 then
      inlines:insert(pandoc.Space())
    end
    inlines:insert(pandoc.Str(w))
  end
  if quarto.doc.is_format("html") then
    return pandoc.Link(inlines, "supplement/index.html#" .. ref, "", { class = "supp-ref" })
  end
  return pandoc.Span(inlines, { class = "supp-ref" })
end
