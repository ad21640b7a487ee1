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
    /// PostgreSQL: <c>INSERT INTO t (...) SELECT r.a, r.b, ... FROM unnest(...) AS r(a, b, ...) [WHERE condition]</c>, new
    /// rows (all but those the condition, which reads the relation <c>r</c> by column name, leaves out) written in the
    /// order given, whatever their number, by one statement of the same text (see <see cref="Unnest"/>).
    /// </summary>
    public string InsertFrom(IEntityType entity, IEnumerable<object> rows, string? condition = null)
    {
        var columns = Written(entity);
        var list = rows as IReadOnlyList<object> ?? [.. rows];
        var relation = Unnest("r", columns.Select(c => (Column(c), ArrayOf(c, list.Select(row => c.GetGetter().GetClrValue(row))))));
        var where = condition is null ? "" : $" WHERE {condition}";
        return $"{InsertInto(entity)} SELECT {string.Join(", ", columns.Select(c => Read(c, $"r.{Column(c)}")))} FROM {relation}{where} ORDER BY r.ordinal";
    }

    /// <summary>
    /// PostgreSQL: <c>unnest(@r0, @r1, ...) WITH ORDINALITY AS alias(a, b, ..., ordinal)</c>, rows as a relation made of
    /// one array parameter per column (<see cref="Read"/> takes a value back into its column's type). Its text depends
    /// on the columns alone, not on how many rows there are, so PostgreSQL parses and plans a statement over it once
    /// (Npgsql prepares it), and a row costs an element of each array, not a parameter per value: a statement, or a
    /// row of <c>VALUES</c>, per row made the server build and bind every value as a parameter of its own, and
    /// PostgreSQL parse and plan each new length of the list.
    /// </summary>
    /// <param name="columns">Each column's name in the relation and its values (<see cref="ArrayOf"/>).</param>
    public static string Unnest(string alias, IEnumerable<(string Name, string Array)> columns)
    {
        var list = columns.ToList();
        return $"unnest({string.Join(", ", list.Select(c => c.Array))}) WITH ORDINALITY AS {alias}({string.Join(", ", list.Select(c => c.Name))}, ordinal)";
    }

    /// <summary>A value of an <see cref="Unnest"/>ed column in the property's column type (JSON, say, travels as text).</summary>
    public static string Read(IProperty property, string reference)
    {
        var store = property.GetRelationalTypeMapping().StoreType;
        // An explicit cast to a length-limited text type would cut a value short where assigning it fails.
        return store.StartsWith("character", StringComparison.Ordinal) ? reference : $"{reference}::{store}";
    }

    /// <summary>Adds an array parameter of the values as the property stores them (a column that is itself an array: of array literals).</summary>
    /// <returns>How the statement refers to the parameter.</returns>
    public string ArrayOf(IProperty property, IEnumerable<object?> values)
    {
        var mapping = property.GetRelationalTypeMapping();
        var stored = values.Select(v => v is null || mapping.Converter is null ? v : mapping.Converter.ConvertToProvider(v)).ToList();
        Array array;
        if (mapping.StoreType.EndsWith("[]", StringComparison.Ordinal))
        {
            array = stored.Select(v => v is null ? null : ArrayLiteral((System.Collections.IEnumerable)v)).ToArray();
        }
        else
        {
            var type = mapping.Converter?.ProviderClrType ?? mapping.ClrType;
            var element = type.IsValueType && Nullable.GetUnderlyingType(type) is null && property.IsNullable ? typeof(Nullable<>).MakeGenericType(type) : type;
            array = Array.CreateInstance(element, stored.Count);
            for (var i = 0; i < stored.Count; i++)
            {
                array.SetValue(stored[i], i);
            }
        }

        return Add(name =>
        {
            // Npgsql takes the array's type from its element type.
            var parameter = _factory.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = array;
            return parameter;
        });
    }

    /// <summary>PostgreSQL's text form of an array, <c>{"a","b \"c\""}</c>: every element quoted, quotes and backslashes escaped.</summary>
    private static string ArrayLiteral(System.Collections.IEnumerable items) =>
        "{" + string.Join(",", items.Cast<object?>().Select(item => item is null ? "NULL"
            : "\"" + Convert.ToString(item, System.Globalization.CultureInfo.InvariantCulture)!.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"")) + "}";

    /// <summary>Adds a parameter holding the value as the property stores it.</summary>
    /// <returns>How the statement refers to the parameter, for example <c>@r3</c>.</returns>
    public string Parameter(IProperty property, object? value) => Add(property.GetRelationalTypeMapping(), value, property.IsNullable);

    /// <summary>Adds a parameter of the provider's default mapping for <typeparamref name="T"/> (an array of keys, say).</summary>
    public string Parameter<T>(T value) =>
        Add(_mappings.FindMapping(typeof(T)) ?? throw new InvalidOperationException($"The provider has no mapping for {typeof(T).Name}."), value, nullable: false);

    private string Add(RelationalTypeMapping mapping, object? value, bool nullable) =>
        Add(name => mapping.CreateParameter(_factory, name, value, nullable));

    /// <summary>Adds the parameter made under the next name.</summary>
    /// <returns>How the statement refers to it.</returns>
    private string Add(Func<string, DbParameter> parameter)
    {
        var name = $"r{_parameters.Count}";
        _parameters.Add(parameter(name));
        // EF's name for the provider's own spelling of a parameter reference (@r0 for both providers here).
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
