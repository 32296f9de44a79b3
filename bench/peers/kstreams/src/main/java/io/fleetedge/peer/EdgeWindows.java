package io.fleetedge.peer;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The edge's window job in Kafka Streams: readings keyed by container, per-container 15-minute
 * windows with 5 minutes' grace, each window emitted once when it closes, exactly-once v2, the
 * windows in a RocksDB store backed by a changelog topic.
 *
 * <p>Usage: {@code EdgeWindows BOOTSTRAP INPUT OUTPUT APPLICATION_ID STATE_DIR VESSEL
 * TOLERANCES} where TOLERANCES is {@code cargo=degrees,...}. Prints {@code first-record MS}
 * when the first reading is processed; runs until SIGTERM.
 */
public final class EdgeWindows {
    static final Duration SIZE = Duration.ofMinutes(15);
    static final Duration GRACE = Duration.ofMinutes(5);
    static final Duration RETENTION = Duration.ofHours(2);
    private static final ObjectMapper JSON = new ObjectMapper();

    private EdgeWindows() {}

    public static void main(String[] args) throws InterruptedException {
        String bootstrap = args[0];
        String input = args[1];
        String output = args[2];
        String vessel = args[5];
        Map<String, Double> tolerances = new HashMap<>();
        for (String pair : args[6].split(",")) {
            String[] kv = pair.split("=");
            tolerances.put(kv[0], Double.parseDouble(kv[1]));
        }
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[3]);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.STATE_DIR_CONFIG, args[4]);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 3);
        props.put(StreamsConfig.DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG, EventTime.class);

        AtomicBoolean first = new AtomicBoolean();
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
                .peek((k, v) -> {
                    if (first.compareAndSet(false, true)) {
                        System.out.println("first-record " + System.currentTimeMillis());
                    }
                })
                .flatMapValues(v -> {
                    Reading r = Reading.parse(v);
                    return r == null ? List.<Reading>of() : List.of(r);
                })
                .groupByKey()
                .windowedBy(TimeWindows.ofSizeAndGrace(SIZE, GRACE))
                .aggregate(
                        WindowState::new,
                        (container, r, state) ->
                                state.add(r, r.eventMs() - r.eventMs() % SIZE.toMillis(), tolerances),
                        Materialized.<String, WindowState, WindowStore<Bytes, byte[]>>as("windows")
                                .withKeySerde(Serdes.String())
                                .withValueSerde(WindowState.serde())
                                // Longer than size + grace (the default): the store's cache
                                // flushes at each commit, and a backlog moves stream time past
                                // a window's retention between two flushes, which then drops
                                // the window's last update (seen: a whole period missing).
                                .withRetention(RETENTION))
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
                .toStream()
                .map((window, state) -> KeyValue.pair(window.key(), render(vessel, window, state)))
                .to(output, Produced.with(Serdes.String(), Serdes.ByteArray()));

        KafkaStreams streams = new KafkaStreams(builder.build(), props);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(30));
            stopped.countDown();
        }));
        streams.setStateListener((now, before) -> System.out.println("state " + now));
        streams.start();
        stopped.await();
    }

    /**
     * The closed window as the edge's ContainerWindow fields (times in epoch milliseconds), the
     * means rounded to 0.01 as the contract's Centi fields round them.
     */
    static byte[] render(String vessel, Windowed<String> window, WindowState s) {
        long start = window.window().start();
        long seq = 1 + (start - EPOCH_2020_MS) / SIZE.toMillis();
        List<long[]> gaps = new ArrayList<>();
        for (int i = 0; i + 1 < s.ranges.size(); i++) {
            gaps.add(new long[] {s.ranges.get(i)[1] + 1, s.ranges.get(i + 1)[0] - 1});
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("event_id", uuid5("fleetedge:window:" + window.key() + ":0:15:00:" + seq).toString());
        out.put("vessel_id", vessel);
        out.put("container_id", window.key());
        out.put("seq", seq);
        out.put("window_start_ms", start);
        out.put("window_end_ms", start + SIZE.toMillis());
        out.put("cargo", s.cargo);
        out.put("count", s.count);
        out.put("first_seq", s.ranges.get(0)[0]);
        out.put("last_seq", s.ranges.get(s.ranges.size() - 1)[1]);
        out.put("gaps", gaps);
        out.put("setpoint_c", s.setpoint);
        out.put("supply_min_c", s.supplyMin);
        out.put("supply_max_c", s.supplyMax);
        out.put("supply_mean_c", WindowState.round2(s.supplySum / s.count));
        out.put("return_min_c", s.returnMin);
        out.put("return_max_c", s.returnMax);
        out.put("return_mean_c", WindowState.round2(s.returnSum / s.count));
        out.put("mean_power_kw", WindowState.round2(s.powerSum / s.count));
        out.put("seconds_out_of_range", s.oorS);
        out.put("seconds_door_open", s.doorS);
        out.put("seconds_defrost", s.defrostS);
        out.put("seconds_power_off", s.powerOffS);
        out.put("lat", s.lat);
        out.put("lon", s.lon);
        out.put("slot_s", WindowState.SLOT_S);
        out.put("out_of_range_slots", s.masks[0]);
        out.put("door_open_slots", s.masks[1]);
        out.put("defrost_slots", s.masks[2]);
        out.put("power_off_slots", s.masks[3]);
        out.put("reading_slots", s.masks[4]);
        out.put("pulp_max_c", s.pulpMax);
        out.put("pulp_slots", s.pulpSlots);
        out.put("treatment", s.treatment);
        try {
            return JSON.writeValueAsBytes(out);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static final long EPOCH_2020_MS = 1577836800000L;
    private static final UUID NAMESPACE_URL = UUID.fromString("6ba7b811-9dad-11d1-80b4-00c04fd430c8");

    /** Python's uuid.uuid5(NAMESPACE_URL, name): the edge's derived window id. */
    static UUID uuid5(String name) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            java.nio.ByteBuffer ns = java.nio.ByteBuffer.allocate(16);
            ns.putLong(NAMESPACE_URL.getMostSignificantBits());
            ns.putLong(NAMESPACE_URL.getLeastSignificantBits());
            sha1.update(ns.array());
            byte[] hash = sha1.digest(name.getBytes(StandardCharsets.UTF_8));
            hash[6] = (byte) ((hash[6] & 0x0f) | 0x50);
            hash[8] = (byte) ((hash[8] & 0x3f) | 0x80);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(hash, 0, 16);
            return new UUID(b.getLong(), b.getLong());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
