using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Sutazai.Persistence;

/// <summary>
/// Updates of many rows that each get values of their own, guarded by conditions every row must meet. EF's
/// <c>ExecuteUpdate</c> gives every row it matches the same values, so per-row values would otherwise take a trip
/// through EF's query pipeline (expression trees, funcletizing, cache lookup) and a command each; that was the
/// largest cost of claiming and finishing tasks. On PostgreSQL the rows go as one statement over arrays
/// (<see cref="Statement(RowsSql)"/>); on SQLite one statement is prepared and stepped per row
/// (<see cref="RowStatement"/>, and see <see cref="RowsSql"/>). Values become parameters through the model's own type
/// mappings (value converters included), so they are stored exactly as EF stores them.
/// </summary>
/// <param name="db">The context; the statement joins its current transaction.</param>
/// <param name="key">The column that picks each row.</param>
/// <param name="perRow">The columns that take each row's own value, in the order <see cref="Add"/> is given them.</param>
internal sealed class RowsUpdate<TEntity>(DbContext db, Expression<Func<TEntity, object?>> key, params Expression<Func<TEntity, object?>>[] perRow)
    where TEntity : class
{
    private readonly IEntityType _entity = db.Model.FindEntityType(typeof(TEntity)) ?? throw new InvalidOperationException($"{typeof(TEntity).Name} is not in the model.");
    private readonly List<(IProperty Property, object? Value)> _same = [];
    private readonly List<IProperty> _incremented = [];
    private readonly List<(IProperty Property, object?[] Allowed)> _guards = [];
    private readonly List<IProperty> _matched = [];
    private readonly List<object?[]> _rows = [];
    private List<IProperty>? _columns;

    /// <summary>A value every row gets.</summary>
    public RowsUpdate<TEntity> Set(Expression<Func<TEntity, object?>> property, object? value)
    {
        _same.Add((Property(property), value));
        return this;
    }

    /// <summary>A number every row adds one to.</summary>
    public RowsUpdate<TEntity> Increment(Expression<Func<TEntity, object?>> property)
    {
        _incremented.Add(Property(property));
        return this;
    }

    /// <summary>Only rows whose value is one of these are updated.</summary>
    public RowsUpdate<TEntity> Where(Expression<Func<TEntity, object?>> property, params object?[] allowed)
    {
        _guards.Add((Property(property), allowed));
        return this;
    }

    /// <summary>Only a row whose value is still its own (given after its new values in <see cref="Add"/>) is updated.</summary>
    public RowsUpdate<TEntity> WhereStill(Expression<Func<TEntity, object?>> property)
    {
        _matched.Add(Property(property));
        return this;
    }

    /// <summary>A row: its key, then its values in the order of the constructor's columns, then those <see cref="WhereStill"/> expects.</summary>
    public void Add(params object?[] values)
    {
        var expected = 1 + perRow.Length + _matched.Count;
        if (values.Length != expected)
        {
            throw new ArgumentException($"A row takes {expected} values (the key first), not {values.Length}.", nameof(values));
        }

        _rows.Add(values);
    }

    /// <returns>How many rows were updated.</returns>
    public async Task<int> ExecuteAsync(CancellationToken cancellationToken)
    {
        if (_rows.Count == 0)
        {
            return 0;
        }

        using var sql = new RowsSql(db);
        if (db.Database.IsSqlite())
        {
            return await sql.ExecuteEachAsync(_rows, row => RowStatement(sql, row) + ";", cancellationToken);
        }

        var text = Statement(sql);
        return await db.Database.ExecuteSqlRawAsync(text, sql.Parameters, cancellationToken);
    }

    private List<IProperty> Columns => _columns ??= [.. perRow.Select(Property).Prepend(Property(key))];

    /// <summary>
    /// PostgreSQL: <c>UPDATE t AS t SET a = v.c1, ... FROM unnest(...) AS v(c0, c1, ...) WHERE t.key = v.c0 AND ...</c>,
    /// every row in one statement of the same text whatever their number (see <see cref="RowsSql.Unnest"/>), without a
    /// closing semicolon (so that one may add <c>RETURNING</c>, over <c>t</c>).
    /// </summary>
    /// <remarks>
    /// Each row must still be found by its key alone, as a statement per row found it. So the guards are compared as
    /// text with nothing appended, which no index answers: otherwise, where its statistics say few tasks are in a
    /// guarded state, PostgreSQL's planner reads that state's index (every queued task, say, or the entry every
    /// earlier version of every task left there) and joins it to the rows, instead of looking each row up by key.
    /// And the rows are filtered by a range of their ordinals that every row is in, which the planner takes to keep
    /// half a percent of them, so it plans for one row, as for a statement per row. Taking an array parameter to hold
    /// ten rows, it found a scan of a small table cheaper than ten lookups by key, and such a plan, made in a new
    /// database's first seconds, was kept while the table grew by thousands of tasks a second until statistics were
    /// next gathered (each claim then read every task: 50-80 ms; see <see cref="PostgreSql.GrowingTableStatistics"/>).
    /// The rows go in key order, so that nodes updating some of the same rows lock them in the same order.
    /// </remarks>
    public string Statement(RowsSql sql)
    {
        var columns = Columns;
        var rows = _rows.OrderBy(row => row[0]).ToList();
        var relation = RowsSql.Unnest("v", Enumerable.Range(0, columns.Count + _matched.Count).Select(i =>
            ($"c{i}", sql.ArrayOf(i < columns.Count ? columns[i] : _matched[i - columns.Count], rows.Select(row => row[i])))));
        var values = columns.Skip(1).Select((c, i) => $"{sql.Column(c)} = {RowsSql.Read(c, $"v.c{i + 1}")}");
        var shared = _same.Select(s => $"{sql.Column(s.Property)} = {sql.Parameter(s.Property, s.Value)}")
            .Concat(_incremented.Select(p => $"{sql.Column(p)} = t.{sql.Column(p)} + 1"));
        var guard = string.Concat(_guards.Select(g => $" AND (t.{Text(sql, g.Property)} || '') IN ({string.Join(", ", g.Allowed.Select(a => sql.Parameter(g.Property, a)))})"))
            + string.Concat(_matched.Select((p, i) => $" AND t.{sql.Column(p)} = {RowsSql.Read(p, $"v.c{columns.Count + i}")}"));
        return $"UPDATE {sql.Table(_entity)} AS t SET {string.Join(", ", values.Concat(shared))} FROM {relation} "
            + $"WHERE v.ordinal BETWEEN 1 AND {int.MaxValue} AND t.{sql.Column(columns[0])} = {RowsSql.Read(columns[0], "v.c0")}{guard}";
    }

    private static string Text(RowsSql sql, IProperty property) =>
        (property.GetRelationalTypeMapping().Converter?.ProviderClrType ?? property.ClrType) == typeof(string)
            ? sql.Column(property)
            : throw new NotSupportedException($"A guard on {property.Name} would be compared as text; only text columns may be guarded.");

    /// <summary>The row's <c>UPDATE</c> (SQLite's, a statement per row), its values added to <paramref name="sql"/>.</summary>
    public string RowStatement(RowsSql sql, object?[] row)
    {
        var columns = Columns;
        var values = columns.Skip(1).Select((c, i) => $"{sql.Column(c)} = {sql.Parameter(c, row[i + 1])}");
        var shared = _same.Select(s => $"{sql.Column(s.Property)} = {sql.Parameter(s.Property, s.Value)}").Concat(_incremented.Select(p => $"{sql.Column(p)} = {sql.Column(p)} + 1"));
        var guard = string.Concat(_guards.Select(g => $" AND {sql.Column(g.Property)} IN ({string.Join(", ", g.Allowed.Select(a => sql.Parameter(g.Property, a)))})"))
            + string.Concat(_matched.Select((p, i) => $" AND {sql.Column(p)} = {sql.Parameter(p, row[columns.Count + i])}"));
        return $"UPDATE {sql.Table(_entity)} SET {string.Join(", ", values.Concat(shared))} WHERE {sql.Column(columns[0])} = {sql.Parameter(columns[0], row[0])}{guard}";
    }

    private IProperty Property(Expression<Func<TEntity, object?>> selector)
    {
        var body = selector.Body is UnaryExpression { NodeType: ExpressionType.Convert } convert ? convert.Operand : selector.Body;
        var name = body is MemberExpression member ? member.Member.Name : throw new ArgumentException($"{selector} does not name a property.", nameof(selector));
        return _entity.FindProperty(name) ?? throw new ArgumentException($"{typeof(TEntity).Name}.{name} is not a mapped property.", nameof(selector));
    }
}
