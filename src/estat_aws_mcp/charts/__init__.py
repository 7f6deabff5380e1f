"""Charts of query results: ``chart_dataset`` renders one read-only SQL query as a PNG.

The query runs through the same guard, engine, time limit and memory limit as ``analyze_with_athena``
(:mod:`estat_aws_mcp.sql`); :mod:`.data` turns its rows into what is plotted (columns checked, caps on
points and series, one value per x and series), :mod:`.render` draws it with matplotlib and the bundled
IPAexGothic font (package ``matplotlib-fontja``), :mod:`.prefectures` keys Japan's 47 prefectures and
takes their outlines from the ``japanmap`` package, and :mod:`.vega` writes the same chart as a Vega-Lite
spec. Plotting libraries are imported only when a chart is drawn, never when the server is built.
"""
