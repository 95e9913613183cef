-- Generated Markdown from the build, read while the article is rendered:
--
--   ::: {.casereport-fragment name="audit"}
--   :::
--
-- becomes the blocks of build/fragments/audit.md. Quarto reads {{< include >}} files when
-- it sets up the project, before the pre-render step has written build/ (a fresh clone
-- failed, and a stale fragment could be shown). This filter runs at `pre-ast`, after
-- pre-render and before Quarto parses floats and cross-references, so a captioned table
-- in a fragment ({#tbl-...}) is numbered and can be referenced like any other.
-- https://quarto.org/docs/extensions/filters.html#filter-ordering
function Div(el)
  if not el.classes:includes("casereport-fragment") then
    return nil
  end
  local name = el.attributes["name"] or ""
  if not name:match("^[%w_-]+$") then
    error("casereport-fragment: name '" .. name .. "' is not a fragment name")
  end
  local root = quarto.project.directory or "."
  local path = pandoc.path.join({ root, "build", "fragments", name .. ".md" })
  local f = io.open(path, "r")
  if f == nil then
    error("casereport-fragment: " .. path .. " does not exist; run `casereport build` "
      .. "(or `quarto render`, whose pre-render step builds it) first")
  end
  local text = f:read("a")
  f:close()
  return pandoc.read(text, "markdown", PANDOC_READER_OPTIONS).blocks
end
