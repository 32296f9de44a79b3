package io.fleetedge.peer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * One container's 15-minute window, computed exactly as the edge's windows.py does: the same
 * statistics, the same rounding of running sums, duplicates (a seq already counted) ignored,
 * "latest" decided by (event time, seq).
 */
final class WindowState {
    static final long SLOT_S = 60;
    static final long INTERVAL_S = 60;

    int count;
    final List<long[]> ranges = new ArrayList<>();
    long latestMs;
    long latestSeq;
    String cargo = "";
    double setpoint;
    double lat;
    double lon;
    double supplyMin;
    double supplyMax;
    double supplySum;
    double returnMin;
    double returnMax;
    double returnSum;
    double powerSum;
    long oorS;
    long doorS;
    long defrostS;
    long powerOffS;
    final long[] masks = new long[5];
    final List<Double> pulpMax = new ArrayList<>();
    final List<Long> pulpSlots = new ArrayList<>();
    boolean treatment;

    /** This window with {@code r} counted in; unchanged for a seq it counted already. */
    WindowState add(Reading r, long windowStartMs, Map<String, Double> tolerances) {
        if (count > 0 && !insert(r.seq())) {
            return this;
        }
        boolean oor = !r.defrost() && Math.abs(r.ret() - r.setpoint()) > tolerances.get(r.cargo());
        long bit = 1L << ((r.eventMs() - windowStartMs) / 1000 / SLOT_S);
        if (count == 0) {
            ranges.add(new long[] {r.seq(), r.seq()});
            supplyMin = supplyMax = supplySum = r.supply();
            returnMin = returnMax = returnSum = r.ret();
            powerSum = r.powerKw();
            takeLatest(r);
        } else {
            supplyMin = Math.min(supplyMin, r.supply());
            supplyMax = Math.max(supplyMax, r.supply());
            supplySum = round2(supplySum + r.supply());
            returnMin = Math.min(returnMin, r.ret());
            returnMax = Math.max(returnMax, r.ret());
            returnSum = round2(returnSum + r.ret());
            powerSum = round2(powerSum + r.powerKw());
            if (Long.compare(r.eventMs(), latestMs) > 0
                    || (r.eventMs() == latestMs && r.seq() > latestSeq)) {
                takeLatest(r);
            }
        }
        count++;
        oorS += oor ? INTERVAL_S : 0;
        doorS += r.doorOpen() ? INTERVAL_S : 0;
        defrostS += r.defrost() ? INTERVAL_S : 0;
        powerOffS += r.powerOn() ? 0 : INTERVAL_S;
        masks[0] |= oor ? bit : 0;
        masks[1] |= r.doorOpen() ? bit : 0;
        masks[2] |= r.defrost() ? bit : 0;
        masks[3] |= r.powerOn() ? 0 : bit;
        masks[4] |= bit;
        Double[] probes = r.pulp();
        for (int i = 0; i < Math.max(probes.length, pulpMax.size()); i++) {
            Double value = i < probes.length ? probes[i] : null;
            long slot = value != null ? bit : 0;
            if (i == pulpMax.size()) {
                pulpMax.add(value);
                pulpSlots.add(slot);
            } else {
                Double held = pulpMax.get(i);
                pulpMax.set(i, held == null ? value : value == null ? held : Math.max(held, value));
                pulpSlots.set(i, pulpSlots.get(i) | slot);
            }
        }
        treatment |= r.treatment();
        return this;
    }

    private void takeLatest(Reading r) {
        latestMs = r.eventMs();
        latestSeq = r.seq();
        cargo = r.cargo();
        setpoint = r.setpoint();
        lat = r.lat();
        lon = r.lon();
    }

    /** Merge {@code seq} into the ranges; false if it was there already. */
    private boolean insert(long seq) {
        int at = 0;
        for (long[] range : ranges) {
            if (range[0] <= seq && seq <= range[1]) {
                return false;
            }
            if (seq < range[0]) {
                break;
            }
            at++;
        }
        ranges.add(at, new long[] {seq, seq});
        List<long[]> merged = new ArrayList<>();
        for (long[] range : ranges) {
            if (!merged.isEmpty() && range[0] == merged.get(merged.size() - 1)[1] + 1) {
                merged.get(merged.size() - 1)[1] = range[1];
            } else {
                merged.add(range);
            }
        }
        ranges.clear();
        ranges.addAll(merged);
        return true;
    }

    /** Python's round(x, 2): the double's exact value, rounded half to even. */
    static double round2(double x) {
        return new BigDecimal(x).setScale(2, RoundingMode.HALF_EVEN).doubleValue();
    }

    static Serde<WindowState> serde() {
        Serializer<WindowState> ser = (topic, s) -> s == null ? null : s.toBytes();
        Deserializer<WindowState> de = (topic, b) -> b == null ? null : fromBytes(b);
        return Serdes.serdeFrom(ser, de);
    }

    private byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(count);
            out.writeInt(ranges.size());
            for (long[] range : ranges) {
                out.writeLong(range[0]);
                out.writeLong(range[1]);
            }
            out.writeLong(latestMs);
            out.writeLong(latestSeq);
            out.writeUTF(cargo);
            for (double d : new double[] {setpoint, lat, lon, supplyMin, supplyMax, supplySum,
                    returnMin, returnMax, returnSum, powerSum}) {
                out.writeDouble(d);
            }
            for (long l : new long[] {oorS, doorS, defrostS, powerOffS}) {
                out.writeLong(l);
            }
            for (long mask : masks) {
                out.writeLong(mask);
            }
            out.writeInt(pulpMax.size());
            for (int i = 0; i < pulpMax.size(); i++) {
                out.writeBoolean(pulpMax.get(i) != null);
                out.writeDouble(pulpMax.get(i) == null ? 0 : pulpMax.get(i));
                out.writeLong(pulpSlots.get(i));
            }
            out.writeBoolean(treatment);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static WindowState fromBytes(byte[] data) {
        WindowState s = new WindowState();
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            s.count = in.readInt();
            int n = in.readInt();
            for (int i = 0; i < n; i++) {
                s.ranges.add(new long[] {in.readLong(), in.readLong()});
            }
            s.latestMs = in.readLong();
            s.latestSeq = in.readLong();
            s.cargo = in.readUTF();
            s.setpoint = in.readDouble();
            s.lat = in.readDouble();
            s.lon = in.readDouble();
            s.supplyMin = in.readDouble();
            s.supplyMax = in.readDouble();
            s.supplySum = in.readDouble();
            s.returnMin = in.readDouble();
            s.returnMax = in.readDouble();
            s.returnSum = in.readDouble();
            s.powerSum = in.readDouble();
            s.oorS = in.readLong();
            s.doorS = in.readLong();
            s.defrostS = in.readLong();
            s.powerOffS = in.readLong();
            for (int i = 0; i < 5; i++) {
                s.masks[i] = in.readLong();
            }
            int probes = in.readInt();
            for (int i = 0; i < probes; i++) {
                boolean present = in.readBoolean();
                double value = in.readDouble();
                s.pulpMax.add(present ? value : null);
                s.pulpSlots.add(in.readLong());
            }
            s.treatment = in.readBoolean();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return s;
    }
}
