using System.Collections;
using System.Reflection;
using Acd.Core.Configuration;

namespace Acd.Host.Configuration;

/// <summary>
/// Finds keys under <c>Acd</c> that no setting has: the .NET binder ignores them, so a misspelled
/// <c>RingTimeoutSecond</c> would otherwise leave the default in force without a word. The known keys are the option
/// classes' properties, walked as the binder walks them (lists by index, dictionaries take any key); each unknown key
/// is an error naming the nearest known one.
/// </summary>
internal static class KnownKeys
{
    /// <summary>Adds an error for each key under <paramref name="section"/> that <paramref name="type"/> does not bind.</summary>
    public static void Check(IConfigurationSection section, Type type, List<ConfigError> errors, params string[] alsoKnown)
    {
        var properties = Properties(type);
        foreach (var child in section.GetChildren())
        {
            if (alsoKnown.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!properties.TryGetValue(child.Key, out var property))
            {
                var nearest = Nearest(child.Key, properties.Keys.Concat(alsoKnown));
                errors.Add(new ConfigError(child.Path, "unknown setting" + (nearest is null ? string.Empty : $" (did you mean '{nearest}'?)")));
                continue;
            }

            Descend(child, property.PropertyType, errors);
        }
    }

    private static void Descend(IConfigurationSection section, Type type, List<ConfigError> errors)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (IsValue(type) || Dictionary(type))
        {
            return; // a value (the binder reports a section where a value belongs), or a map that takes any key
        }

        if (Element(type) is { } element)
        {
            foreach (var item in section.GetChildren())
            {
                if (int.TryParse(item.Key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
                {
                    Descend(item, element, errors);
                }
                else
                {
                    errors.Add(new ConfigError(item.Path, $"'{section.Key}' is a list: its entries are numbered 0, 1, 2…"));
                }
            }

            return;
        }

        Check(section, type, errors);
    }

    private static Dictionary<string, PropertyInfo> Properties(Type type) => type
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.GetIndexParameters().Length == 0 && p.GetMethod is not null)
        .GroupBy(p => p.Name, StringComparer.OrdinalIgnoreCase)
        .ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);

    private static bool IsValue(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan) || type == typeof(DateTime) || type == typeof(Uri);

    private static bool Dictionary(Type type) =>
        typeof(IDictionary).IsAssignableFrom(type)
        || (type.IsGenericType && type.GetGenericTypeDefinition() is var d && (d == typeof(IDictionary<,>) || d == typeof(IReadOnlyDictionary<,>)))
        || type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));

    private static Type? Element(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        var enumerable = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>)
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0];
    }

    /// <summary>The known key closest to <paramref name="key"/> (edit distance, ignoring case), if it is close enough to be a slip.</summary>
    internal static string? Nearest(string key, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = Distance(key.ToUpperInvariant(), candidate.ToUpperInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return bestDistance <= Math.Max(2, key.Length / 3) ? best : null;
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
