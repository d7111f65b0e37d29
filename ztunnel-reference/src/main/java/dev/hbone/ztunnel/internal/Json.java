package dev.hbone.ztunnel.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationConfig;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.BeanSerializerModifier;
import com.fasterxml.jackson.databind.ser.impl.UnknownSerializer;
import com.fasterxml.jackson.databind.ser.std.BeanSerializerBase;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import dev.hbone.ztunnel.cli.ProxyConfig;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Function;

/**
 * JSON for the admin endpoints and the access log, written by Jackson.
 *
 * <p>{@link #write} renders what {@code /config_dump} shows: maps, collections, records (by component), optionals
 * (their value or {@code null}), addresses as {@code ip} / {@code ip:port}, durations as {@code <n>ms}, and anything
 * else by its {@code toString()} (a SPIFFE ID as its URI, not as a bean of getters). {@link #generator} gives a
 * compact generator for log lines. Both escape U+2028 and U+2029, which end a line for JavaScript readers of logs.
 */
public final class Json {
    private static final JsonFactory FACTORY = new JsonFactoryBuilder().characterEscapes(new LineSafeEscapes()).build();
    private static final ObjectWriter PRETTY = JsonMapper.builder(FACTORY)
            .addModule(new Jdk8Module())
            .addModule(new SimpleModule("hbone-admin")
                    .addSerializer(InetAddress.class, text(InetAddress.class, InetAddress::getHostAddress))
                    .addSerializer(InetSocketAddress.class, text(InetSocketAddress.class, ProxyConfig::format))
                    .addSerializer(Duration.class, text(Duration.class, d -> d.toMillis() + "ms"))
                    .addSerializer(Instant.class, ToStringSerializer.instance)
                    .addSerializer(Path.class, ToStringSerializer.instance)
                    .setSerializerModifier(new RecordsOrText()))
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build()
            .writer(new DefaultPrettyPrinter(Separators.createDefaultInstance()
                            .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                            .withObjectEmptySeparator("")
                            .withArrayEmptySeparator(""))
                    .withObjectIndenter(new DefaultIndenter("  ", "\n"))
                    .withArrayIndenter(new DefaultIndenter("  ", "\n")));

    private Json() {
    }

    /** Returns {@code value} as indented JSON, with a final line break. */
    public static String write(Object value) {
        try {
            return PRETTY.writeValueAsString(value) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write " + value.getClass().getName() + " as JSON", e);
        }
    }

    /**
     * Returns a compact generator writing to {@code out}.
     *
     * @param out where the JSON goes
     * @return the generator; closing it flushes {@code out}
     */
    public static JsonGenerator generator(StringWriter out) {
        try {
            return FACTORY.createGenerator(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
    }

    private static <T> JsonSerializer<T> text(Class<T> type, Function<T, String> text) {
        return new StdSerializer<>(type) {
            @Override
            public void serialize(T value, JsonGenerator gen, SerializerProvider provider) throws IOException {
                gen.writeString(text.apply(value));
            }
        };
    }

    /** Records are written by component; other beans (types of libraries, e.g. a SPIFFE ID) by {@code toString}. */
    private static final class RecordsOrText extends BeanSerializerModifier {
        @Override
        public JsonSerializer<?> modifySerializer(SerializationConfig config, BeanDescription description,
                JsonSerializer<?> serializer) {
            boolean bean = serializer instanceof BeanSerializerBase || serializer instanceof UnknownSerializer;
            return bean && !description.getBeanClass().isRecord() ? ToStringSerializer.instance : serializer;
        }
    }

    /** JSON's own escapes plus U+2028 and U+2029. */
    private static final class LineSafeEscapes extends CharacterEscapes {
        private static final SerializedString LS = new SerializedString("\\u2028");
        private static final SerializedString PS = new SerializedString("\\u2029");
        private final int[] ascii = standardAsciiEscapesForJSON();

        @Override
        public int[] getEscapeCodesForAscii() {
            return ascii;
        }

        @Override
        public SerializableString getEscapeSequence(int ch) {
            return ch == 0x2028 ? LS : ch == 0x2029 ? PS : null;
        }
    }
}
