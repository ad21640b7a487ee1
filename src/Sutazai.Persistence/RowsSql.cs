using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Sutazai.Persistence;

/// <summary>
/// What a hand-built statement over entities' tables needs from EF's model: the table and column names, quoted
/// for the provider, and parameters made by each property's own type mapping (value converters included), so
/// values are stored exactly as EF stores them.
/// </summary>
/// <remarks>
/// On SQLite, statements over many rows are run a row at a time (<see cref="ExecuteEachAsync"/>): Microsoft.Data.Sqlite
/// binds each parameter by looking its name up in the statement's list, and binds every parameter of a command to
/// every statement in it, so one command with thousands of parameters costs time quadratic in their number (a
/// 256-row INSERT of usage records took tens of milliseconds, and held SQLite's one write turn all the while).
/// A statement prepared once and stepped for each row costs what the row costs.
/// </remarks>
internal sealed class RowsSql : IDisposable
{
    private readonly ISqlGenerationHelper _sql;
    private readonly IRelationalTypeMappingSource _mappings;
    private readonly DbContext _db;
    private readonly DbCommand _factory;
    private readonly List<DbParameter> _parameters = [];
    private readonly Dictionary<IEntityType, IReadOnlyList<IProperty>> _written = [];

    public RowsSql(DbContext db)
    {
        _db = db;
        _sql = db.GetService<ISqlGenerationHelper>();
        _mappings = db.GetService<IRelationalTypeMappingSource>();
        _factory = db.Database.GetDbConnection().CreateCommand();
    }

    public IReadOnlyList<DbParameter> Parameters => _parameters;

    public IEntityType Entity<TEntity>() => Entity(typeof(TEntity));

    public IEntityType Entity(Type type) => _db.Model.FindEntityType(type) ?? throw new InvalidOperationException($"{type.Name} is not in the model.");

    public string Table(IEntityType entity) => _sql.DelimitIdentifier(entity.GetTableName()!, entity.GetSchema());

    public string Column(IProperty property) => _sql.DelimitIdentifier(property.GetColumnName());

    /// <summary>The column of the entity's (single) primary key.</summary>
    public string Key(IEntityType entity) => Column(entity.FindPrimaryKey()!.Properties.Single());

    /// <summary>The columns a new row is written with: all but a numeric key the database numbers itself (found once per entity, not per row).</summary>
    private IReadOnlyList<IProperty> Written(IEntityType entity)
    {
        if (!_written.TryGetValue(entity, out var columns))
        {
            _written[entity] = columns = [.. entity.GetProperties().Where(p => !(p.IsPrimaryKey() && p.ValueGenerated == ValueGenerated.OnAdd && p.ClrType == typeof(long)))];
        }

        return columns;
    }

    /// <summary><c>INSERT INTO t (a, b, ...)</c> for the <see cref="Written"/> columns.</summary>
    public string InsertInto(IEntityType entity) => $"INSERT INTO {Table(entity)} ({string.Join(", ", Written(entity).Select(Column))})";

    /// <summary><c>(@a, @b, ...)</c>: a new row's <see cref="Written"/> values as parameters.</summary>
    public string Values(IEntityType entity, object row) => $"({string.Join(", ", Written(entity).Select(c => Parameter(c, c.GetGetter().GetClrValue(row))))})";

    /// <summary>
    /// <c>INSERT INTO t (...) SELECT * FROM (VALUES (...), ...) AS v WHERE condition</c>: new rows written only if the
    /// condition holds when the statement runs, in the order given.
    /// </summary>
    public string InsertWhere(IEntityType entity, IEnumerable<object> rows, string condition) =>
        $"{InsertInto(entity)} SELECT * FROM (VALUES {string.Join(", ", rows.Select(row => Values(entity, row)))}) AS v WHERE {condition}";

    /// <summary>Adds a parameter holding the value as the property stores it.</summary>
    /// <returns>How the statement refers to the parameter, for example <c>@r3</c>.</returns>
    public string Parameter(IProperty property, object? value) => Add(property.GetRelationalTypeMapping(), value, property.IsNullable);

    /// <summary>Adds a parameter of the provider's default mapping for <typeparamref name="T"/> (an array of keys, say).</summary>
    public string Parameter<T>(T value) =>
        Add(_mappings.FindMapping(typeof(T)) ?? throw new InvalidOperationException($"The provider has no mapping for {typeof(T).Name}."), value, nullable: false);

    private string Add(RelationalTypeMapping mapping, object? value, bool nullable)
    {
        var name = $"r{_parameters.Count}";
        _parameters.Add(mapping.CreateParameter(_factory, name, value, nullable));
        // The provider's own spelling of a parameter reference, as EF writes it in its statements.
        return _sql.GenerateParameterNamePlaceholder(name);
    }

    /// <summary>Forgets the parameters made so far, so the next statement's are numbered from 0.</summary>
    public void ClearParameters() => _parameters.Clear();

    /// <summary>
    /// Runs a statement for each row, prepared once (every row's text must be the same; only its parameters differ),
    /// in the context's transaction or, when it has none, in one of its own.
    /// </summary>
    /// <returns>How many rows the statements changed.</returns>
    public async Task<int> ExecuteEachAsync<TRow>(IEnumerable<TRow> rows, Func<TRow, string> statement, CancellationToken cancellationToken)
    {
        await _db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var own = _db.Database.CurrentTransaction is null ? await _db.Database.BeginTransactionAsync(cancellationToken) : null;
            await using (own)
            {
                await using var command = _db.Database.GetDbConnection().CreateCommand();
                command.Transaction = _db.Database.CurrentTransaction!.GetDbTransaction();
                command.CommandTimeout = _db.Database.GetCommandTimeout() ?? command.CommandTimeout;
                var changed = 0;
                foreach (var row in rows)
                {
                    ClearParameters();
                    var text = statement(row);
                    if (command.CommandText != text)
                    {
                        command.CommandText = text;
                    }

                    command.Parameters.Clear();
                    foreach (var parameter in _parameters)
                    {
                        command.Parameters.Add(parameter);
                    }
                    changed += await command.ExecuteNonQueryAsync(cancellationToken);
                }

                if (own is not null)
                {
                    await own.CommitAsync(cancellationToken);
                }

                return changed;
            }
        }
        finally
        {
            await _db.Database.CloseConnectionAsync();
        }
    }

    public void Dispose() => _factory.Dispose();
}
