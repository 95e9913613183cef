-- The supplement's sections are numbered S1, S2, ... (supplement/_quarto.yml turns
-- Quarto's own section numbering off): each top-level heading (level 2; the title is the
-- document's only level 1) that is not .unnumbered gets "S<n> " in front of its text, in a
-- span of class supp-number, so the HTML, its table of contents, the Typst PDF and its
-- outline (bookmarks) all read "S3 The reasons mapped ...". After the render the build
-- reads these numbers back from the HTML (report/quarto.py: supplement_numbers), and the
-- article cites a section as "Supplement section S3".
local n = 0

function Header(el)
  if el.level ~= 2 or el.classes:includes("unnumbered") then
    return nil
  end
  n = n + 1
  local label = pandoc.Span({ pandoc.Str("S" .. n) }, { class = "supp-number" })
  el.content:insert(1, pandoc.Space())
  el.content:insert(1, label)
  return el
end
