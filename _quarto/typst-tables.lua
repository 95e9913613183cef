-- PDF (Typst) tables: let Typst size the columns to their content.
-- A wide pipe table gets fixed column fractions from pandoc (from the dashes of its
-- separator line); in print those leave short columns ("Site 1") too narrow and long
-- headers overprinting their neighbours. Typst's auto columns take what their content
-- needs and shrink the widest ones fairly when the table would overflow the page.
-- HTML keeps the fractions: browsers never make a column narrower than its longest word.
-- https://typst.app/docs/reference/layout/grid/#track-sizing
function Table(tbl)
  if not quarto.doc.is_format("typst") then
    return nil
  end
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = { spec[1], pandoc.ColWidthDefault }
  end
  return tbl
end
