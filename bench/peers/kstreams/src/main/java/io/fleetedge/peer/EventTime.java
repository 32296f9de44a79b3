package io.fleetedge.peer;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.processor.TimestampExtractor;

/** A reading's event time, found in its JSON without parsing the whole document. */
public final class EventTime implements TimestampExtractor {
    private static final byte[] FIELD = "\"event_time\":\"".getBytes(StandardCharsets.US_ASCII);

    @Override
    public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
        if (record.value() instanceof byte[] value) {
            int at = indexOf(value, FIELD);
            if (at >= 0) {
                int from = at + FIELD.length;
                int to = from;
                while (to < value.length && value[to] != '"') {
                    to++;
                }
                try {
                    return Instant.parse(new String(value, from, to - from, StandardCharsets.US_ASCII))
                            .toEpochMilli();
                } catch (RuntimeException e) {
                    // falls through: a record without a readable time is dropped (negative)
                }
            }
        }
        return -1;
    }

    private static int indexOf(byte[] data, byte[] pattern) {
        outer:
        for (int i = 0; i + pattern.length <= data.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (data[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
